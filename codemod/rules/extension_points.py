"""GS7xx: autograd's extension points: custom Functions, function transforms, hooks, library calls.

GS701-GS729: custom `torch.autograd.Function`s (and, to come, checkpointing, forward hooks and
`inference_mode`); GS730-GS759: functions handed to `torch.func` / `vmap` /
`torch.autograd.functional` (and, to come, `torch.compile` and in-place ops inside library calls).
"""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Rule, register

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


# ---------------------------------------------------------------------- GS730-GS759: function transforms

TRANSFORM_INPUT_MUTATED = register(
    Rule(
        code="GS730",
        name="transformed-function-mutates-input",
        summary="A function handed to torch.func.grad/vjp/jacrev or torch.autograd.functional mutates an input it differentiates",
        what_it_does="""
            Reports an in-place write to a parameter of a function that the same file passes to a
            differentiating transform (`torch.func.grad`, `grad_and_value`, `vjp`, `jvp`, `jacrev`,
            `jacfwd`, `hessian`, `linearize`, or `torch.autograd.functional.vjp`/`jvp`/`jacobian`/
            `hessian`/`vhp`/`hvp`), when the transform differentiates that parameter (the first one
            for `grad`-like transforms unless `argnums=` says otherwise, every input for `vjp`).
            A parameter rebound first (`v = v.clone()`) is not reported; nor is a write under `vmap`,
            which does not differentiate.
        """,
        why_bad="""
            The transform makes each differentiated input a leaf that requires grad, so the write
            raises `a leaf Variable that requires grad is being used in an in-place operation`; with
            `torch.autograd.functional`'s `create_graph=True` the function gets a differentiable
            alias instead, and the derivative comes out as that of the overwritten value: the
            identity's, silently (pytorch#52390).
        """,
        example="""
            import torch
            from torch.func import vjp

            def unit_direction(v):
                v.sub_(v.mean())
                return v / v.norm()

            def pullback_of(x, cotangent):
                out, pullback = vjp(unit_direction, x)
                return pullback(cotangent)
        """,
        use_instead="""
            import torch
            from torch.func import vjp

            def unit_direction(v):
                v = v.sub(v.mean())
                return v / v.norm()

            def pullback_of(x, cotangent):
                out, pullback = vjp(unit_direction, x)
                return pullback(cotangent)
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE),
        fix_safety="Rebinds the parameter to the out-of-place result, as torch's docs ask of transformed functions.",
    )
)

TRANSFORM_CAPTURED_MUTATED = register(
    Rule(
        code="GS731",
        name="transformed-function-mutates-captured-tensor",
        summary="A function handed to a torch.func differentiating transform mutates a tensor it captures",
        what_it_does="""
            Reports an in-place write, inside a function passed to `torch.func.grad`, `vjp`, `jacrev`
            (and the other differentiating transforms of `torch.func`), to a tensor the function
            neither receives nor creates: a module-level or enclosing-scope tensor (a running sum of
            losses, a statistics buffer).  Report only: the value must leave the transform, which
            changes the function's signature and its callers.
        """,
        why_bad="""
            The transform refuses it at the call: `During a grad (vjp, jvp, grad, etc) transform, the
            function provided attempted to call in-place operation (aten::add_.Tensor) that would
            mutate a captured Tensor` (pytorch#85533).  Return the value as an auxiliary output
            (`grad(f, has_aux=True)`) and update the tensor outside the transform, or pass the
            tensor in as an argument.
        """,
        example="""
            import torch
            from torch.func import grad

            history = torch.zeros(1)

            def mse(w, x, y):
                loss = ((x @ w - y) ** 2).mean()
                history.add_(loss.detach())
                return loss

            def step(w, x, y):
                return w - 0.1 * grad(mse)(w, x, y)
        """,
        use_instead="""
            import torch
            from torch.func import grad

            history = torch.zeros(1)

            def mse(w, x, y):
                loss = ((x @ w - y) ** 2).mean()
                return loss, loss.detach()

            def step(w, x, y):
                g, loss = grad(mse, has_aux=True)(w, x, y)
                history.add_(loss)
                return w - 0.1 * g
        """,
        fix_kinds=(),
    )
)

VMAP_UNBATCHED_WRITE = register(
    Rule(
        code="GS732",
        name="vmap-write-into-unbatched-tensor",
        summary="A vmapped function writes per-sample values into a tensor that is not batched",
        what_it_does="""
            Reports, inside a function passed to `torch.vmap`/`torch.func.vmap`, an in-place write of
            a value computed from the function's arguments into a tensor that vmap does not batch: a
            tensor made inside by a factory (`torch.zeros(n)`, `torch.empty(...)`, `torch.ones`,
            `torch.full`) or one the function captures from outside.  Writes into `x.new_zeros(n)`,
            `torch.zeros_like(x)` or a clone of an argument are batched like the argument and are
            not reported; nor are writes of values that do not depend on the arguments.  Report
            only: the recommended change is named in the message.
        """,
        why_bad="""
            vmap raises `vmap: inplace arithmetic(self, *extra_args) is not possible because there
            exists a Tensor \\`other\\` in extra_args that has more elements than \\`self\\``
            (pytorch#103329): a tensor without a batch dimension cannot hold one value per sample.
            Allocate it from the argument (`x.new_zeros(n)`), or build the result out of place
            (`torch.stack([...])`), as torch's vmap documentation recommends.
        """,
        example="""
            import torch

            def summary(signal):
                feats = torch.zeros(2, dtype=signal.dtype)
                feats[0] = signal.mean()
                feats[1] = signal.std()
                return feats

            def batch_summary(signals):
                return torch.vmap(summary)(signals)
        """,
        use_instead="""
            import torch

            def summary(signal):
                feats = signal.new_zeros(2)
                feats[0] = signal.mean()
                feats[1] = signal.std()
                return feats

            def batch_summary(signals):
                return torch.vmap(summary)(signals)
        """,
        fix_kinds=(),
    )
)
