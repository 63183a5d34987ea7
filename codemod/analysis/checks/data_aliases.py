"""GS4xx, the analysis of ``gradsafe.rules.data_aliases``: writes through ``.data`` and ``.detach()`` aliases."""

from __future__ import annotations

import ast

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import (
    NO_HAZARD,
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
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.values import Alias, Tri
from gradsafe.findings import Related
from gradsafe.rules.data_aliases import DATA_UPDATE_SPELLING, DATA_WRITE_TO_SAVED, DETACH_ALIAS_WRITE


def write_through_data(w: Write) -> Verdict | None:
    """A write through ``.data``: GS401 if it overwrites a saved tensor, GS403 if it is a parameter
    update spelled the old way; either way no other rule applies (autograd does not see it)."""
    if not w.m.through_data:
        return None
    if w.saves:
        return Verdict(DATA_WRITE_TO_SAVED, saves=w.saves, release=True)
    if w.m.grad_on and any(f.leaf is Tri.YES for _, f in w.facts) and w.is_update():
        return Verdict(DATA_UPDATE_SPELLING)
    return NO_HAZARD


def detach_alias_overwrites_saved(w: Write) -> Verdict | None:
    """GS402: a write through a ``.detach()`` alias to a tensor an op saved."""
    if w.saves and w.m.target.alias is Alias.DETACH:
        return Verdict(DETACH_ALIAS_WRITE, saves=w.saves, release=True)
    return None


def _alias_message(w: Write, v: Verdict, *, through_data: bool) -> str:
    m, state, save = w.m, w.state, first_save(v.saves)
    assert save is not None
    bases = [n for n in state.names_of(m.target.sids) if n != m.name and state.env[n].alias is Alias.NONE]
    direct = isinstance(m.target_node, ast.Attribute) and m.target_node.attr in ("data", "detach")
    if not bases and m.name and (direct or m.target.alias is Alias.NONE):
        bases = [m.name]  # `y.data.clamp_()`: the written name is the tensor itself
    into = f"`{bases[0]}`" if bases else "a tensor"
    via = "`.data`" if through_data else "a `.detach()` alias"
    if m.name and bases and bases[0] != m.name:
        via += f" (`{m.name}`)"
    consequence = "gradients will be silently wrong" if through_data else "backward will fail"
    return (f"{what(m)} writes through {via} into {into}, which {saved_where(save)} saved for backward "
            f"({saved_role(save)}); {consequence}")


def _data_write_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return _alias_message(w, v, through_data=True)


def _detach_write_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return _alias_message(w, v, through_data=False)


def _data_write_unseen_save(w: Write) -> str:
    return (f"{what(w.m)} writes through `.data` into a tensor that was saved for backward; "
            "gradients will be silently wrong")


def _spelling_message(w: Write, v: Verdict, related: list[Related]) -> str:
    return f"{what(w.m)} updates {written_name(w.m)} through `.data`; `with torch.no_grad():` is the modern spelling"


def _data_write_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.copy_alias(w.m, w.state, w.fix, through_data=True)


def _detach_write_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.copy_alias(w.m, w.state, w.fix, through_data=False)


def _spelling_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.no_grad(w.m, w.fix, strip_data=True)


ANALYSES = (
    RuleAnalysis(DATA_WRITE_TO_SAVED, _data_write_message, _data_write_remedy, unseen_save_message=_data_write_unseen_save),
    RuleAnalysis(DETACH_ALIAS_WRITE, _detach_write_message, _detach_write_remedy,
                 unseen_save_message=overwritten_unseen_save),
    RuleAnalysis(DATA_UPDATE_SPELLING, _spelling_message, _spelling_remedy),
)
