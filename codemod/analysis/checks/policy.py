"""GS9xx, the analysis of ``gradsafe.rules.policy``: in-place ops reported by policy, not as hazards."""

from __future__ import annotations

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import RuleAnalysis, Verdict, Write, what
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.remedies import Plan
from gradsafe.findings import Related
from gradsafe.rules import Policy
from gradsafe.rules.policy import INPLACE_IN_DIFFERENTIABLE_CODE


def inplace_in_differentiable_code(w: Write) -> Verdict | None:
    """GS901, under ``--policy strict``: any other in-place write in differentiable code."""
    if w.policy is Policy.STRICT and w.m.grad_on and w.scope.differentiable and w.m.form is not Form.HELPER:
        return Verdict(INPLACE_IN_DIFFERENTIABLE_CODE)
    return None


def _message(w: Write, v: Verdict, related: list[Related]) -> str:
    return f"{what(w.m)} is an in-place op in differentiable code"


def _remedy(w: Write, v: Verdict) -> Plan:
    return remedies.by_form(w.m, w.state, w.fix, v.saves)


ANALYSES = (RuleAnalysis(INPLACE_IN_DIFFERENTIABLE_CODE, _message, _remedy),)
