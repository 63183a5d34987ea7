"""GS4xx: writes through `.data` and `.detach()` aliases of tensors autograd saved."""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Rule, register

DATA_WRITE_TO_SAVED = register(
    Rule(
        code="GS401",
        name="data-write-to-saved",
        summary="Write through .data to a tensor saved for backward: silently wrong gradients",
        what_it_does="""
            Reports `y.data.op_(...)`, `y.data[i] = v`, and in-place writes to an alias made with
            `alias = y.data`, when `y` is saved for backward and its backward is still pending.
        """,
        why_bad="""
            `.data` does not share the version counter, so autograd cannot notice the write.  Backward
            runs and uses the overwritten value: gradients are silently wrong (after `sigmoid`, for
            instance, `x.grad` comes out as `[-4.51, -1.83, ...]` where the truth is `[0.44, 0.73,
            ...]`).  Replacing `.data` by `torch.no_grad()` turns the silence into an error, but is not
            a fix.
        """,
        example="""
            import torch
            from torch import nn

            class Attend(nn.Module):
                def forward(self, q, k, v):
                    probs = torch.softmax(q @ k.T, dim=-1)
                    out = probs @ v
                    percent = probs.data
                    percent.mul_(100)
                    return out, percent
        """,
        use_instead="""
            import torch
            from torch import nn

            class Attend(nn.Module):
                def forward(self, q, k, v):
                    probs = torch.softmax(q @ k.T, dim=-1)
                    out = probs @ v
                    percent = probs.data.clone()
                    percent.mul_(100)
                    return out, percent
        """,
        fix_kinds=(FixKind.CLONE,),
        fix_safety="""
            A real copy is made for the side output only when the saved tensor is not read again
            before backward; otherwise the forward itself depends on the write, and the finding is
            reported without a fix.
        """,
    )
)

DETACH_ALIAS_WRITE = register(
    Rule(
        code="GS402",
        name="detach-alias-write-to-saved",
        summary="In-place write through a .detach() alias to a tensor saved for backward",
        what_it_does="""
            Reports in-place writes to `alias = y.detach()` (or `y.detach().op_()`) when `y` is saved
            for backward, e.g. a heat map for logging scaled in place.
        """,
        why_bad="""
            `.detach()` shares storage *and* the version counter with `y`, so backward fails with
            `one of the variables needed for gradient computation has been modified by an inplace
            operation`.
        """,
        example="""
            import torch
            from torch import nn

            class Attention(nn.Module):
                def forward(self, q, k, v):
                    attn = torch.softmax(q @ k.T, dim=-1)
                    out = attn @ v
                    heat = attn.detach()
                    heat.mul_(255)
                    return out, heat
        """,
        use_instead="""
            import torch
            from torch import nn

            class Attention(nn.Module):
                def forward(self, q, k, v):
                    attn = torch.softmax(q @ k.T, dim=-1)
                    out = attn @ v
                    heat = attn.detach().clone()
                    heat.mul_(255)
                    return out, heat
        """,
        fix_kinds=(FixKind.CLONE,),
    )
)

DATA_UPDATE_SPELLING = register(
    Rule(
        code="GS403",
        name="data-update-spelling",
        summary="Parameter update through .data; prefer torch.no_grad()",
        what_it_does="""
            Reports parameter updates spelled through `.data` (`p.data.add_(p.grad, alpha=-lr)`,
            `p.data -= lr * p.grad`) after backward.
        """,
        why_bad="""
            The update is correct, but `.data` bypasses autograd's version checks everywhere it is
            used, which hides real bugs elsewhere.  `with torch.no_grad(): p.add_(...)` is the modern
            spelling and keeps the checks.
        """,
        example="""
            import torch

            def sgd_step(model, lr):
                for p in model.parameters():
                    p.data.add_(p.grad, alpha=-lr)
        """,
        use_instead="""
            import torch

            def sgd_step(model, lr):
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(p.grad, alpha=-lr)
        """,
        fix_kinds=(FixKind.NO_GRAD,),
        default_enabled=False,
        fix_safety="Offered only where provably equivalent: the update runs after backward and nothing saved the parameter since.",
    )
)
