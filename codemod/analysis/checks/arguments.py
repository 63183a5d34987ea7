"""GS5xx, the analysis of ``gradsafe.rules.arguments``: a function mutates its caller's tensor."""

from __future__ import annotations

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import (
    RuleAnalysis,
    Verdict,
    Write,
    first_save,
    leaf_label,
    overwritten_unseen_save,
    saved_where,
    what,
    written_name,
)
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.values import Alias, Tri
from gradsafe.findings import Related
from gradsafe.rules.arguments import ARGUMENT_MUTATED, HELPER_MUTATES_ARGUMENT


def helper_writes_leaf(w: Write) -> Verdict | None:
    """GS502: a call of an in-file helper that writes its argument, a leaf that requires grad."""
    if w.leaves is not None and w.m.form is Form.HELPER:
        return Verdict(HELPER_MUTATES_ARGUMENT, leaves=w.leaves)
    return None


def helper_overwrites_saved(w: Write) -> Verdict | None:
    """GS502: a call of an in-file helper that writes its argument, which an op saved."""
    if w.saves and w.m.form is Form.HELPER:
        return Verdict(HELPER_MUTATES_ARGUMENT, saves=w.saves, release=True)
    return None


def argument_mutated(w: Write) -> Verdict | None:
    """GS501: a module's ``forward`` writes the caller's tensor (a hazard if the caller's requires grad)."""
    m = w.m
    if (
        m.grad_on
        and w.scope.is_forward
        and m.target.alias is Alias.NONE
        and not m.target.integer  # an integer or bool tensor: the caller's cannot require grad
        and m.form not in (Form.HELPER, Form.SEQUENTIAL)
        and any(f.arg for _, f in w.facts)
    ):
        return Verdict(ARGUMENT_MUTATED, premise=Tri.MAYBE)
    return None


def _argument_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return (f"{what(w.m)} mutates the caller's tensor {written_name(w.m)} in place; if the caller passes a leaf "
            "that requires grad this raises, and if the caller's value was saved for backward, backward fails")


def _helper_message(w: Write, v: Verdict, related: list[Related]) -> str:
    m, name, save = w.m, written_name(w.m), first_save(v.saves)
    assert m.helper_span is not None
    if save is not None:
        related.append(Related(m.helper_span, f"`{m.helper}()` writes its argument in place here"))
        return (f"{what(m)} mutates {name} in place (`{m.method}` on line {m.helper_span.line} in `{m.helper}()`), "
                f"and {saved_where(save)} saved {name} for backward; backward will fail")
    leaf_label(v, related)
    return (f"{what(m)} mutates {name} in place (line {m.helper_span.line} in `{m.helper}()`), and {name} is "
            "a leaf that requires grad; this raises")


def _argument_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.clone(w.m, w.state, w.fix, caller_visible=True)


def _helper_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.helper_return(w.m, w.state, w.fix)


ANALYSES = (
    RuleAnalysis(ARGUMENT_MUTATED, _argument_message, _argument_remedy),
    RuleAnalysis(HELPER_MUTATES_ARGUMENT, _helper_message, _helper_remedy, unseen_save_message=overwritten_unseen_save),
)
