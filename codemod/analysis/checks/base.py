"""What a rule's analysis works with: the write being judged, the verdict, and the rule's hooks.

Every family module in this package (one per family module of ``gradsafe.rules``) holds, for its
rules, the three things the judge needs from a rule:

* **detect**: ``check(write) -> Verdict | None``, one function per place in the order of checks
  (``gradsafe.analysis.checks.CHECKS``): a ``Verdict`` names the rule the write breaks, ``None``
  hands the write to the next check, ``NO_HAZARD`` ends the judgement with no finding;
* **message**: ``message(write, verdict, related) -> str``, the finding's sentence (it may append
  ``Related`` locations to ``related``);
* **remedy**: ``remedy(write, verdict) -> Plan``, the fix, built with a planner of
  ``gradsafe.analysis.remedies``, or why there is none.

Rules about a statement rather than a write (GS6xx: a result discarded by an expression
statement) have the same three hooks on a ``Statement`` instead of a ``Write``; their checks are in
``STATEMENT_CHECKS`` (``gradsafe.analysis.checks``), asked for every expression statement that
calls something.

A ``RuleAnalysis`` ties a rule to its message and remedy; each family module lists its own in
``ANALYSES``.  The helpers below are the phrases several families' messages share.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from gradsafe.analysis.mutations import Mutation
from gradsafe.analysis.remedies import FixContext, Plan
from gradsafe.analysis.values import Ref, Save, State, Storage, Tri
from gradsafe.analysis.source_text import unparse
from gradsafe.findings import Related
from gradsafe.rules import Policy, Rule

if TYPE_CHECKING:
    from gradsafe.analysis.interpreter import Scope

Facts = list[tuple[int, Storage]]  # (storage id, what is known about it) for each storage written


@dataclass(slots=True)
class Write:
    """One in-place write, with what the checks ask about it (built once per write by the judge)."""

    m: Mutation
    state: State  # the abstract state just before the write
    facts: Facts  # the storages the write reaches
    saves: frozenset[Save]  # what earlier ops saved of those storages and backward still needs
    # Whether the operands require grad; MAYBE only from calls we cannot see into counts as NO
    # under the default policy (that is speculation, not the "an argument may require grad" premise).
    operands_grad: Tri
    # The written storages that are leaves requiring grad, when grad mode is on and the write is
    # not through an alias; None when the write is not to such a leaf.
    leaves: Facts | None
    scope: Scope
    policy: Policy
    fix: FixContext  # what the fix planners need

    def is_update(self) -> bool:
        """An optimizer-style update: after backward, reading `.grad`, or of parameters outside forward."""
        if self.state.backward is not Tri.NO or self.m.operands_mention_grad:
            return True
        return any(f.param for _, f in self.facts) and not self.scope.is_forward


@dataclass(slots=True)
class Statement:
    """An expression statement that calls something and discards the result (built by the judge).

    ``receiver`` is what the call works on, evaluated before the call: the object of a method call
    (``x`` in ``x.clamp(0, 1)``) or the first argument of a function (``torch.clamp(x, 0)``);
    ``api`` the op-table name the call resolves to (``Tensor.clamp``, ``torch.clamp``), "" when it
    is not a call of a torch op the table knows.
    """

    stmt: ast.Expr
    call: ast.Call
    api: str
    receiver_node: ast.expr
    receiver: Ref
    state: State
    scope: Scope
    policy: Policy
    fix: FixContext

    @property
    def name(self) -> str | None:
        """The receiver's plain name, if it is one."""
        return self.receiver_node.id if isinstance(self.receiver_node, ast.Name) else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The rule a write breaks, and the evidence its message and fix rest on."""

    rule: Rule | None  # None only in NO_HAZARD
    premise: Tri = Tri.YES  # how sure we are that the values involved require grad
    saves: frozenset[Save] = frozenset()  # the saves the write overwrites
    leaves: Facts | tuple[()] = ()  # the leaves it writes
    release: bool = False  # forget ``saves`` afterwards: one overwrite gives one finding, not a cascade


NO_HAZARD = Verdict(None)  # the write is judged, and it is not a hazard: later checks are skipped

Check = Callable[[Write], "Verdict | None"]
StatementCheck = Callable[[Statement], "Verdict | None"]

Subject = TypeVar("Subject", Write, Statement)  # what a rule judges: a write, or a statement


@dataclass(frozen=True)
class RuleAnalysis(Generic[Subject]):
    """A rule's message and fix.  ``unseen_save_message``: for rules that rest on a save, the
    message when ``gradsafe trace`` saw the overwrite but the save is in code the analysis cannot
    see (another file)."""

    rule: Rule
    message: Callable[[Subject, Verdict, list[Related]], str]
    remedy: Callable[[Subject, Verdict], Plan]
    unseen_save_message: Callable[[Write], str] | None = None


# ---------------------------------------------------------------------- shared phrases
def what(m: Mutation) -> str:
    """The write as the source spells it: "`h.mul_(2)`"."""
    return f"`{m.display}`"


def written_name(m: Mutation) -> str:
    """The written tensor's name, or a short form of the written expression."""
    return f"`{m.name}`" if m.name else f"`{short(m.target_node)}`"


def short(node: ast.AST) -> str:
    text = unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def first_save(saves: frozenset[Save]) -> Save | None:
    """The save a message names: the latest in the source (an output before an input at one place)."""
    if not saves:
        return None
    return sorted(saves, key=lambda s: (s.span.line, s.span.col, s.role != "output"), reverse=True)[0]


def saved_where(save: Save) -> str:
    """Which op saved the tensor, and where: "`sigmoid` on line 3 (in `gate()`)"."""
    return f"`{save.op}` on line {save.span.line}" + (f" (in `{save.via}()`)" if save.via else "")


def saved_role(save: Save) -> str:
    return "its result" if save.role == "output" else "an input"


def overwritten_unseen_save(w: Write) -> str:
    """A traced overwrite of a saved tensor whose save the analysis could not see."""
    return f"{what(w.m)} overwrites a tensor that was saved for backward; backward will fail"


def leaf_label(v: Verdict, related: list[Related]) -> str:
    """How messages call the written leaf ("an `nn.Parameter`"); notes where it is created."""
    origin = next((f for _, f in v.leaves if f.origin is not None), None)
    label = next((f.label for _, f in v.leaves if f.label), "a leaf tensor")
    if origin is not None and origin.origin is not None:
        related.append(Related(origin.origin, "the leaf is created here"))
    return label
