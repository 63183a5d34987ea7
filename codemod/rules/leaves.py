"""GS2xx: a leaf that requires grad, a parameter or a buffer is mutated in place."""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Rule, register

LEAF_MUTATED = register(
    Rule(
        code="GS201",
        name="leaf-mutated",
        summary="In-place op on a leaf tensor that requires grad, with grad mode on",
        what_it_does="""
            Reports in-place operations on a tensor created with `requires_grad=True`, an
            `nn.Parameter`, or a tensor after `.requires_grad_()`, outside `torch.no_grad()`.
        """,
        why_bad="""
            PyTorch raises `a leaf Variable that requires grad is being used in an in-place operation.`
            at the call itself.  An out-of-place rebinding is not always the cure: it turns the name
            into a non-leaf whose `.grad` stays `None`.
        """,
        example="""
            import torch

            w = torch.randn(3, requires_grad=True)
            w.add_(1)
            loss = (w * w).sum()
        """,
        use_instead="""
            import torch

            w = torch.randn(3, requires_grad=True)
            w = w.add(1)
            loss = (w * w).sum()
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE, FixKind.CLONE),
        fix_safety="""
            Out-of-place only when the leaf's `.grad` is never read and it is not handed to an
            optimizer afterwards; otherwise the finding is reported without a fix.
        """,
    )
)

LEAF_VIEW_MUTATED = register(
    Rule(
        code="GS202",
        name="leaf-view-mutated",
        summary="In-place op on a view of a leaf tensor that requires grad",
        what_it_does="""
            Reports in-place writes to a slice, index or `view` of a leaf that requires grad
            (`w[0] = 5.0`, `w[:, 3].zero_()`, `w.view(-1).mul_(2)`), including a function's tensor
            argument when the function clones nothing first.
        """,
        why_bad="""
            PyTorch raises `a view of a leaf Variable that requires grad is being used in an in-place
            operation.` at the call.  Wrapping the write in `torch.no_grad()` runs but computes a
            wrong gradient for the overwritten entries.
        """,
        example="""
            import torch

            w = torch.randn(4, 3, requires_grad=True)
            w[:, 0].zero_()
            loss = (w * w).sum()
        """,
        use_instead="""
            import torch

            w = torch.randn(4, 3, requires_grad=True)
            w = w.clone()
            w[:, 0].zero_()
            loss = (w * w).sum()
        """,
        fix_kinds=(FixKind.CLONE,),
        fix_safety="A `clone()` of the base just before the first write; gradients flow to the leaf through the clone.",
    )
)

PARAMETER_UPDATE = register(
    Rule(
        code="GS203",
        name="parameter-update-outside-no-grad",
        summary="Optimizer-style update of a parameter outside torch.no_grad()",
        what_it_does="""
            Reports manual updates of leaves that require grad: `w -= lr * w.grad`, `p.add_(p.grad,
            alpha=-lr)` in a loop over `.parameters()`, EMA/teacher updates (`pe.mul_(d).add_(p, alpha=1
            - d)`), weight clipping between steps, when they are not inside `torch.no_grad()`,
            `torch.inference_mode()` or a function decorated with either.
        """,
        why_bad="""
            PyTorch raises `a leaf Variable that requires grad is being used in an in-place operation.`
            at the update.  The tempting out-of-place fix `p = p - lr * p.grad` is silently wrong: in a
            loop it rebinds the loop variable and updates nothing; on a module-level tensor it makes a
            non-leaf whose `.grad` is `None` on the next step.
        """,
        example="""
            import torch

            def sgd_step(model, lr):
                for p in model.parameters():
                    p -= lr * p.grad
        """,
        use_instead="""
            import torch

            def sgd_step(model, lr):
                with torch.no_grad():
                    for p in model.parameters():
                        p -= lr * p.grad
        """,
        fix_kinds=(FixKind.NO_GRAD,),
        fix_safety="Wrapping the update in `torch.no_grad()` is what `torch.optim` does; N steps equal `torch.optim.SGD`.",
    )
)

PARAMETER_IN_FORWARD = register(
    Rule(
        code="GS204",
        name="parameter-mutated-in-forward",
        summary="A module parameter is mutated in place during the forward computation",
        what_it_does="""
            Reports `self.weight.mul_(mask)`, `self.weight += x` and similar writes to an
            `nn.Parameter` inside differentiable code such as `forward`.
        """,
        why_bad="""
            The parameter is a leaf that requires grad, so the write raises at the call.  The obvious
            rewrite `self.weight = self.weight * mask` raises `TypeError: cannot assign
            'torch.FloatTensor' as parameter 'weight'`.  The correct rewrite uses a local.
        """,
        example="""
            import torch
            from torch import nn

            class Masked(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.weight = nn.Parameter(torch.randn(3, 3))
                    self.register_buffer("mask", torch.ones(3, 3))

                def forward(self, x):
                    self.weight.mul_(self.mask)
                    return x @ self.weight
        """,
        use_instead="""
            import torch
            from torch import nn

            class Masked(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.weight = nn.Parameter(torch.randn(3, 3))
                    self.register_buffer("mask", torch.ones(3, 3))

                def forward(self, x):
                    weight = self.weight.mul(self.mask)
                    return x @ weight
        """,
        fix_kinds=(FixKind.PARAMETER_LOCAL,),
        fix_safety="The local carries the masked value for the rest of the method; the parameter itself is never reassigned.",
    )
)

BUFFER_ATTACHED = register(
    Rule(
        code="GS205",
        name="buffer-attached-to-graph",
        summary="A module buffer is updated in place with a value that requires grad",
        what_it_does="""
            Reports in-place updates of a module buffer or persistent tensor attribute (registered with
            `register_buffer`, or a plain tensor attribute) with a value that requires grad, outside
            `torch.no_grad()`: `self.centers.index_add_(0, labels, alpha * (feats - self.centers))`.
        """,
        why_bad="""
            The buffer silently becomes part of this iteration's graph.  The next iteration's backward
            fails with `Trying to backward through the graph a second time`, far from the update.
        """,
        example="""
            import torch
            from torch import nn

            class Centers(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.register_buffer("running", torch.zeros(4))

                def forward(self, feats):
                    self.running.mul_(0.9).add_(0.1 * feats.mean(0))
                    return feats - self.running
        """,
        use_instead="""
            import torch
            from torch import nn

            class Centers(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.register_buffer("running", torch.zeros(4))

                def forward(self, feats):
                    with torch.no_grad():
                        self.running.mul_(0.9).add_(0.1 * feats.mean(0))
                    return feats - self.running
        """,
        fix_kinds=(FixKind.NO_GRAD,),
        fix_safety="What BatchNorm does with its running statistics.",
    )
)
