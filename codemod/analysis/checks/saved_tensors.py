"""GS1xx, the analysis of ``gradsafe.rules.saved_tensors``: a tensor saved for backward is overwritten."""

from __future__ import annotations

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import (
    RuleAnalysis,
    Verdict,
    Write,
    first_save,
    overwritten_unseen_save,
    saved_role,
    saved_where,
    what,
    written_name,
)
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.values import Tri
from gradsafe.findings import Related
from gradsafe.rules.saved_tensors import SAVED_INPUT, SAVED_RESULT, STEP_BEFORE_BACKWARD


def saved_tensor_overwritten(w: Write) -> Verdict | None:
    """Any write (in any grad mode: the version counter moves under ``no_grad`` too) to a tensor an
    earlier op saved: GS101 if an op saved it as its result, else GS102."""
    if not w.saves:
        return None
    rule = SAVED_RESULT if any(s.role == "output" for s in w.saves) else SAVED_INPUT
    return Verdict(rule, saves=w.saves, release=True)


def message(w: Write, v: Verdict, related: list[Related]) -> str:
    m, save = w.m, first_save(v.saves)
    assert save is not None
    where = saved_where(save)
    if m.form is Form.SEQUENTIAL:
        return (f"`{m.op}` inside `nn.Sequential` overwrites the output of the layer before it, which "
                f"{where} saved for backward; backward will fail")
    if m.form is Form.MODULE:
        return (f"{what(m)} (`{m.op}`) overwrites {written_name(m)}, which {where} saved for backward "
                f"({saved_role(save)}); backward will fail")
    return (f"{what(m)} overwrites {written_name(m)}, which {where} saved for backward ({saved_role(save)}); "
            "backward will fail")


def remedy(w: Write, v: Verdict) -> Plan:
    m, state = w.m, w.state
    if any(f.leaf is Tri.YES for _, f in state.storages(m.target)):
        return None, "the tensor is a leaf that backward still needs: move the write after `backward()`"
    if not m.grad_on and remedies.writes_callers_tensor(m, state):
        return None, "the write updates the caller's tensor under `no_grad` on purpose: move it after `backward()`"
    return remedies.by_form(m, state, w.fix, v.saves)


# GS103 is judged over a function's statements, not over one write: `gradsafe.analysis.training`
# finds the step between a forward and its backward, words the finding and plans the reorder.  No
# check gives a write its verdict; these two say what such a write would mean if one ever did.
def step_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return f"{what(w.m)} overwrites parameters that a graph built before it saved; a later backward will fail"


def step_remedy(w: Write, v: Verdict) -> Plan:
    return None, "backpropagate the earlier graph before the step, or compute its loss again after it"


ANALYSES = (
    RuleAnalysis(SAVED_RESULT, message, remedy, unseen_save_message=overwritten_unseen_save),
    RuleAnalysis(SAVED_INPUT, message, remedy, unseen_save_message=overwritten_unseen_save),
    RuleAnalysis(STEP_BEFORE_BACKWARD, step_message, step_remedy),
)
