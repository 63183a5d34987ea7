"""GS9xx: rules that report by policy rather than by hazard."""

from gradsafe.findings import FixKind
from gradsafe.rules.rule import Policy, Rule, register

INPLACE_IN_DIFFERENTIABLE_CODE = register(
    Rule(
        code="GS901",
        name="inplace-in-differentiable-code",
        summary="In-place op in differentiable code (reported only under --policy strict)",
        what_it_does="""
            Under `--policy strict`, reports every in-place op in differentiable code (module
            `forward` methods and functions that take or return tensors) that the default policy
            considers safe.
        """,
        why_bad="""
            Nothing is wrong today: these ops save memory and autograd accepts them.  Teams that ban
            in-place ops outright use this rule so that a later change (a new op that saves its input)
            cannot turn one into a hazard.
        """,
        example="""
            import torch
            from torch import nn

            class Block(nn.Module):
                def forward(self, x):
                    h = x * 2
                    h.add_(1)
                    return h
        """,
        use_instead="""
            import torch
            from torch import nn

            class Block(nn.Module):
                def forward(self, x):
                    h = x * 2
                    h = h.add(1)
                    return h
        """,
        fix_kinds=(FixKind.OUT_OF_PLACE,),
        policy=Policy.STRICT,
    )
)
