"""GS7xx: autograd's extension points: custom `torch.autograd.Function`s, checkpointing, hooks, inference mode.

GS701-GS729 cover custom Functions, checkpointing, forward hooks and `inference_mode` (issue 18,
first half); GS730-GS759 are kept for `torch.func`, `torch.compile` and in-place ops inside
library calls (the second half), appended in their own section below.
"""

from gradsafe.findings import FixKind
from gradsafe.rules import Rule, register

# ---------------------------------------------------------------------- custom autograd.Function
CTX_ATTRIBUTE_MUTATED = register(
    Rule(
        code="GS701",
        name="custom-function-ctx-attribute-mutated",
        summary="In-place op on a tensor a custom autograd.Function keeps on `ctx` as a plain attribute",
        what_it_does="""
            Reports an in-place write, before backward, to a tensor that the `forward` of an in-file
            `torch.autograd.Function` stored as an attribute of `ctx` (`ctx.x = x`) rather than
            through `ctx.save_for_backward`, when `F.apply(...)` built a node (an input requires grad).
            The Function's `forward` is read in the same file; an input it rebinds first
            (`x = x.clone()`) is its own copy and is not followed.
        """,
        why_bad="""
            A `ctx` attribute has no version check: backward reads whatever the tensor holds when it
            runs, so the gradients are computed from the overwritten values, silently.  Through
            `save_for_backward` the same write would raise instead.
        """,
        example="""
            import torch

            class Scale(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x, w):
                    ctx.x = x
                    return x * w

                @staticmethod
                def backward(ctx, g):
                    return None, (g * ctx.x).sum(0)

            def step(x):
                w = torch.randn(3, requires_grad=True)
                y = Scale.apply(x, w)
                x.sub_(x.mean(0))
                y.sum().backward()
                return w.grad
        """,
        use_instead="""
            import torch

            class Scale(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x, w):
                    ctx.x = x
                    return x * w

                @staticmethod
                def backward(ctx, g):
                    return None, (g * ctx.x).sum(0)

            def step(x):
                w = torch.randn(3, requires_grad=True)
                y = Scale.apply(x, w)
                x = x.sub(x.mean(0))
                y.sum().backward()
                return w.grad
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE),
        references=("https://github.com/pytorch/tutorials/issues/2797",),
    )
)

FORWARD_MUTATES_INPUT = register(
    Rule(
        code="GS702",
        name="custom-function-forward-mutates-input",
        summary="A custom autograd.Function's `forward` writes an input in place without `ctx.mark_dirty`",
        what_it_does="""
            Reports an in-place write, inside the `forward` of an in-file `torch.autograd.Function`,
            to one of its tensor inputs, when `forward` never calls `ctx.mark_dirty` on it.
        """,
        why_bad="""
            `forward` runs with grad mode off, so nothing raises; but autograd still believes the
            caller's tensor holds what it held before the call, and every later use of it sends no
            gradient through the values `forward` wrote in (or backward reads a stale graph), silently.
        """,
        example="""
            import torch

            class Accumulate(torch.autograd.Function):
                @staticmethod
                def forward(ctx, buf, upd):
                    buf[1:3] += upd
                    return buf

                @staticmethod
                def backward(ctx, g):
                    return g, g[1:3]
        """,
        use_instead="""
            import torch

            class Accumulate(torch.autograd.Function):
                @staticmethod
                def forward(ctx, buf, upd):
                    buf[1:3] += upd
                    ctx.mark_dirty(buf)
                    return buf

                @staticmethod
                def backward(ctx, g):
                    return g, g[1:3]
        """,
        references=("https://github.com/pytorch/pytorch/issues/5871",),
    )
)

FUNCTION_VIEW_MUTATED = register(
    Rule(
        code="GS703",
        name="custom-function-view-output-mutated",
        summary="In-place op on the output of a custom autograd.Function that returns (a view of) its input",
        what_it_does="""
            Reports an in-place write to the result of `F.apply(...)` when the `forward` of the in-file
            `torch.autograd.Function` `F` returns one of its inputs or a view of it (`x[:, :k]`,
            `x.view(...)`, `x.t()`), and the result requires grad.
        """,
        why_bad="""
            PyTorch raises `Output 0 of FBackward is a view and is being modified inplace. This view was
            created inside a custom Function ...` at the write (older versions silently dropped the
            gradient): autograd cannot rebase a custom node.
        """,
        example="""
            import torch

            class Crop(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x[:, :2]

                @staticmethod
                def backward(ctx, g):
                    return torch.cat([g, g.new_zeros(g.shape[0], 1)], 1)

            class Head(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = torch.nn.Linear(3, 3)

                def forward(self, x):
                    y = Crop.apply(self.fc(x))
                    y.clamp_(min=0)
                    return y
        """,
        use_instead="""
            import torch

            class Crop(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x[:, :2]

                @staticmethod
                def backward(ctx, g):
                    return torch.cat([g, g.new_zeros(g.shape[0], 1)], 1)

            class Head(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = torch.nn.Linear(3, 3)

                def forward(self, x):
                    y = Crop.apply(self.fc(x))
                    y = y.clamp(min=0)
                    return y
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE),
        references=("https://github.com/pytorch/pytorch/issues/26546",),
    )
)
