"""GS5xx: a function mutates a tensor its caller passed in."""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Rule, register

ARGUMENT_MUTATED = register(
    Rule(
        code="GS501",
        name="argument-mutated",
        summary="Differentiable code mutates a tensor argument in place (the caller's tensor)",
        what_it_does="""
            Reports in-place writes to a tensor argument inside differentiable code (a module's
            `forward`, or a function called from one) before the argument is rebound: `x -= x.mean()`,
            `img[:, 3].zero_()`, `x.add_(1)` on an input.
        """,
        why_bad="""
            The caller's tensor changes under its feet.  When the caller passes a leaf that requires
            grad the write raises at once; when the caller's value was saved by an earlier op (an
            `exp`, a `sigmoid`), backward fails later, at a line far away.
        """,
        example="""
            import torch
            from torch import nn

            class DropChannel(nn.Module):
                def forward(self, img):
                    img[:, 0].zero_()
                    return img * 2
        """,
        use_instead="""
            import torch
            from torch import nn

            class DropChannel(nn.Module):
                def forward(self, img):
                    img = img.clone()
                    img[:, 0].zero_()
                    return img * 2
        """,
        fix_kinds=(FixKind.CLONE,),
        fix_safety="One `clone()` just before the first mutation on each path; later writes hit the private copy.",
    )
)

HELPER_MUTATES_ARGUMENT = register(
    Rule(
        code="GS502",
        name="helper-mutates-saved-argument",
        summary="A helper mutates its argument in place, and the caller passes a saved tensor or a leaf",
        what_it_does="""
            Reports a call to a function of the same file that writes its argument in place
            (`def scale_(h, s): h.mul_(s)`) when the value passed at the call site is saved for
            backward or is a leaf that requires grad.
        """,
        why_bad="""
            The hazard is at the call site, hidden inside the helper.  Rewriting only the helper's body
            makes the call a silent no-op for the caller (the loss changes with no error).
        """,
        example="""
            import torch
            from torch import nn

            def scale_(h, s):
                h.mul_(s)

            class Encoder(nn.Module):
                def forward(self, x):
                    h = torch.tanh(x)
                    scale_(h, 2.0)
                    return h.sum()
        """,
        use_instead="""
            import torch
            from torch import nn

            def scale_(h, s):
                h = h.mul(s)
                return h

            class Encoder(nn.Module):
                def forward(self, x):
                    h = torch.tanh(x)
                    h = scale_(h, 2.0)
                    return h.sum()
        """,
        fix_kinds=(FixKind.HELPER_RETURN,),
        fix_safety="Applied only when every call site is in the same file and the helper returned nothing before.",
    )
)
