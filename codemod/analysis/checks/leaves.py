"""GS2xx, the analysis of ``gradsafe.rules.leaves``: a leaf that requires grad, a parameter or a buffer is mutated."""

from __future__ import annotations

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import RuleAnalysis, Verdict, Write, leaf_label, what, written_name
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.values import Tri, View
from gradsafe.findings import Related
from gradsafe.rules.leaves import (
    BUFFER_ATTACHED,
    LEAF_MUTATED,
    LEAF_VIEW_MUTATED,
    PARAMETER_IN_FORWARD,
    PARAMETER_UPDATE,
)


def leaf_mutated(w: Write) -> Verdict | None:
    """A write to a leaf that requires grad, with grad mode on: which of GS204/GS203/GS202/GS201.

    (A helper writing the leaf is GS502, checked just before this.)
    """
    if w.leaves is None:
        return None
    m = w.m
    params = any(f.param for _, f in w.leaves)
    if w.scope.is_forward and params and m.name and m.name.startswith("self.") and not w.is_update():
        rule = PARAMETER_IN_FORWARD
    elif w.is_update():
        rule = PARAMETER_UPDATE
    elif m.target.view is not View.NONE or m.subscript:
        rule = LEAF_VIEW_MUTATED
    else:
        rule = LEAF_MUTATED
    # A parameter's "maybe" (frozen on one path only) is about the path, not about whether grad is
    # required: on the path where nothing froze it, the write raises.
    return Verdict(rule, leaves=w.leaves)


def buffer_attached(w: Write) -> Verdict | None:
    """GS205: a module's buffer updated with a value that requires grad, with grad mode on."""
    m, scope = w.m, w.scope
    if (
        m.grad_on
        and scope.class_name is not None
        and w.fix.ctx.is_module_class(scope.class_name)
        and any(f.buffer and not f.param for _, f in w.facts)
        and w.operands_grad is not Tri.NO
        and m.form is not Form.HELPER
    ):
        return Verdict(BUFFER_ATTACHED, premise=w.operands_grad)
    return None


# ---------------------------------------------------------------------- messages
def _leaf_mutated_message(w: Write, v: Verdict, related: list[Related]) -> str:
    label = leaf_label(v, related)
    return f"{what(w.m)} mutates {written_name(w.m)} ({label}), a leaf that requires grad; this raises at the call"


def _leaf_view_message(w: Write, v: Verdict, related: list[Related]) -> str:
    label = leaf_label(v, related)
    return (f"{what(w.m)} writes into a view of {written_name(w.m)} ({label}), a leaf that requires grad; "
            "this raises at the call")


def _update_message(w: Write, v: Verdict, related: list[Related]) -> str:
    label = leaf_label(v, related)
    return (f"{what(w.m)} updates {written_name(w.m)} ({label}) outside `torch.no_grad()`; this raises `a leaf "
            "Variable that requires grad is being used in an in-place operation`")


def _in_forward_message(w: Write, v: Verdict, related: list[Related]) -> str:
    leaf_label(v, related)
    return (f"{what(w.m)} mutates {written_name(w.m)}, an `nn.Parameter`, in `forward`; this raises at the call, "
            f"and `{w.m.name} = ...` would raise TypeError")


def _buffer_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return (f"{what(w.m)} updates {written_name(w.m)}, a module buffer, with a value that requires grad outside "
            "`torch.no_grad()`; the buffer joins this step's graph and the next backward fails")


# ---------------------------------------------------------------------- fixes
def _leaf_mutated_remedy(w: Write, v: Verdict) -> Plan:
    problem = remedies.leaf_rebinding_problem(w.m, w.fix)
    if problem:
        return None, problem
    return remedies.by_form(w.m, w.state, w.fix, v.saves)


def _leaf_view_remedy(w: Write, v: Verdict) -> Plan:
    problem = remedies.leaf_rebinding_problem(w.m, w.fix)
    if problem:
        return None, problem
    return remedies.clone(w.m, w.state, w.fix)


def _no_grad_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.no_grad(w.m, w.fix)


def _parameter_local_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.parameter_local(w.m, w.fix)


ANALYSES = (
    RuleAnalysis(LEAF_MUTATED, _leaf_mutated_message, _leaf_mutated_remedy),
    RuleAnalysis(LEAF_VIEW_MUTATED, _leaf_view_message, _leaf_view_remedy),
    RuleAnalysis(PARAMETER_UPDATE, _update_message, _no_grad_remedy),
    RuleAnalysis(PARAMETER_IN_FORWARD, _in_forward_message, _parameter_local_remedy),
    RuleAnalysis(BUFFER_ATTACHED, _buffer_message, _no_grad_remedy),
)
