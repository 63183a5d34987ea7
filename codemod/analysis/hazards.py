"""The judgement of one scope: is each in-place write a hazard, under which rule, and with what fix?

The interpreter hands every write to ``ScopeJudge.on_mutation``.  The judge builds the ``Write``
(what the checks ask about it), asks the checks of ``gradsafe.analysis.checks.CHECKS`` in order,
and records the first verdict as a finding: its message and fix come from the rule's family
module (``gradsafe.analysis.checks.<family>``), the fix through ``gradsafe.analysis.remedies``.
Writes that no check reports are memory optimisations and are left alone.

An expression statement that calls something and discards the result is handed to
``ScopeJudge.on_statement``, which asks ``STATEMENT_CHECKS`` the same way (GS601).

A write that ``gradsafe trace`` saw break autograd (``confirmed``) is reported under the traced
rule even where the static judgement was silent or only "possible", so that it gets its fix.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING
from collections.abc import Mapping

from gradsafe.analysis import remedies
from gradsafe.analysis.checks import CHECKS, STATEMENT_CHECKS, analysis_of
from gradsafe.analysis.checks.base import Facts, Statement, Verdict, Write, first_save
from gradsafe.analysis.consumers import Consumers
from gradsafe.analysis.liveness import Reads
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.remedies import FixContext
from gradsafe.analysis.values import Alias, Ref, Save, State, Tri
from gradsafe.findings import Confidence, Finding, Fix, Related, Span
from gradsafe.rules import Policy, Rule, get_rule
from gradsafe.rules.arguments import HELPER_MUTATES_ARGUMENT

if TYPE_CHECKING:
    from gradsafe.analysis.context import ModuleContext
    from gradsafe.analysis.interpreter import Scope
    from gradsafe.analysis.interpreter.base import InterpreterBase


class ScopeJudge:
    """Judges the writes of one scope (a function or the module body) and collects its findings."""

    def __init__(self, ctx: ModuleContext, scope: Scope, policy: Policy, confirmed: Mapping[int, str] | None = None) -> None:
        self.ctx = ctx
        self.scope = scope
        self.policy = policy
        self.confirmed = confirmed or {}  # line -> rule code that `gradsafe trace` saw happen there
        self.findings: dict[tuple[str, Span], Finding] = {}
        self.escaped: set[int] = set()  # storages reachable from outside (attributes, containers)
        self.module_uses: list[tuple[Mutation, str | None]] = []  # in-place module calls: (use, why unsafe)
        self.argument_dependent: set[tuple[str, object]] = set()  # keys of findings resting on arguments
        self._consumers: Consumers | None = None

    @property
    def reads(self) -> Reads:
        """Where names are read in this scope: built only when a finding needs it for its fix."""
        return self.ctx.reads(self.scope.node)

    # ------------------------------------------------------------------ the decision
    def on_mutation(self, m: Mutation, state: State, interp: InterpreterBase) -> None:
        before = len(self.findings)
        self.judge_mutation(m, state, interp)
        code = self.confirmed.get(m.span.line)
        rule = get_rule(code) if code is not None else None
        if (
            rule is not None
            and rule is not HELPER_MUTATES_ARGUMENT
            and not self.scope.is_forward
            and any(f.arg for _, f in state.storages(m.target))
            and not remedies.returns_a_value(self.scope.node)
        ):
            # A helper that writes its caller's tensor and returns nothing: rewriting its body would
            # make the call a no-op; the fix belongs at the call site (GS502).
            rule = None
        if rule is not None and len(self.findings) == before:
            # The traced run saw this write break autograd: report it even where the static
            # judgement alone was silent or only "possible", so that it gets its fix.
            w = self._write(m, state, interp)
            self.report(Verdict(rule, saves=w.saves), w, confirmed=True)

    def judge_mutation(self, m: Mutation, state: State, interp: InterpreterBase) -> None:
        if not m.target.is_tensorish or _is_grad_buffer(m.target_node):
            return  # `.grad` tensors are not part of any graph: zeroing or clipping them is fine
        if m.opt_in and self.policy is Policy.DEFAULT:
            return  # the in-place variant runs only when the caller turns the module's flag on
        if m.form is Form.MODULE and m.module is not None:
            self.module_uses.append((m, remedies.module_use_problem(m, state, self._fix_context(interp))))
        w = self._write(m, state, interp)
        for check in CHECKS:
            verdict = check(w)
            if verdict is None:
                continue
            if verdict.rule is not None:
                self.report(verdict, w)
                if verdict.release:
                    _release(state, m.target, verdict.saves)
            return

    def on_statement(
        self, stmt: ast.Expr, call: ast.Call, api: str, receiver_node: ast.expr, receiver: Ref, state: State,
        interp: InterpreterBase,
    ) -> None:
        """An expression statement whose call's result is discarded: the statement checks judge it."""
        s = Statement(stmt, call, api, receiver_node, receiver, state, self.scope, self.policy, self._fix_context(interp))
        for check in STATEMENT_CHECKS:
            verdict = check(s)
            if verdict is None:
                continue
            if verdict.rule is not None:
                self._report_statement(verdict, s)
            return

    def _report_statement(self, verdict: Verdict, s: Statement) -> None:
        rule: Rule = verdict.rule  # type: ignore[assignment]
        span = self.ctx.span(s.call)
        key = (rule.code, span)
        if key in self.findings:
            return
        analysis = analysis_of(rule)
        related: list[Related] = []
        message = analysis.message(s, verdict, related)
        fix, reason = analysis.remedy(s, verdict)
        confidence = Confidence.CERTAIN if verdict.premise is Tri.YES else Confidence.POSSIBLE
        self._record(key, message, confidence, related, fix, reason)

    def _fix_context(self, interp: InterpreterBase) -> FixContext:
        return FixContext(self.ctx, self.scope, self.escaped, interp.higher_order)

    def _write(self, m: Mutation, state: State, interp: InterpreterBase) -> Write:
        ref = m.target
        facts = state.storages(ref)
        # Operands that only may require grad because they come out of calls we cannot see into
        # are speculation, not the "an argument may require grad" assumption: strict policy only.
        operands_grad = m.operands_grad
        if operands_grad is Tri.MAYBE and m.operands_opaque and self.policy is Policy.DEFAULT:
            operands_grad = Tri.NO
        leaves: Facts | None = None
        if m.grad_on and ref.alias is Alias.NONE:
            found = [(sid, f) for sid, f in facts if f.leaf is Tri.YES]
            # A parameter requires grad unless something froze it; "maybe" means a branch did
            # (`if freeze: p.requires_grad = False`), and on the other path the write raises.
            found = found or [(sid, f) for sid, f in facts if f.leaf is Tri.MAYBE and f.param]
            # `p -= lr * p.grad` on a `p` of unknown origin (`for p in params`): it has a `.grad`,
            # so it is a leaf that requires grad.
            own_grad = m.reads_own_grad and not any(f.leaf is Tri.NO for _, f in facts)
            if found or own_grad:
                leaves = found or [(sid, f) for sid, f in facts if f.leaf is Tri.MAYBE]
        saves = _pending(facts)
        if saves:
            if self._consumers is None:
                self._consumers = Consumers(self.scope.node, self.ctx.source)
            saves = frozenset(s for s in saves if not self._consumers.unreachable(s))
        return Write(m, state, facts, saves, operands_grad, leaves, self.scope, self.policy,
                     self._fix_context(interp))

    # ------------------------------------------------------------------ findings
    def report(self, verdict: Verdict, w: Write, *, confirmed: bool = False) -> None:
        """Record a finding.  ``verdict.premise`` is how sure we are that the values involved require
        grad; ``confirmed``: a traced run saw it happen, which settles every premise."""
        rule: Rule = verdict.rule  # type: ignore[assignment]
        m, saves = w.m, verdict.saves
        span = m.span
        key = (rule.code, span)
        if key in self.findings:
            return
        premise = verdict.premise
        if saves and not confirmed:
            premise = Tri.YES if any(s.certain for s in saves) else Tri.MAYBE
        certain = premise is Tri.YES and (m.module is None or m.module.certain)
        confidence = Confidence.CERTAIN if certain else Confidence.POSSIBLE
        if not certain and self.policy is Policy.DEFAULT and not self.scope.grad_context:
            # Only a hazard if an argument requires grad, in code nothing shows runs under autograd.
            return
        if not certain and self.scope.inherited_context:
            self.argument_dependent.add(key)
        analysis = analysis_of(rule)
        related: list[Related] = []
        if confirmed and not saves and analysis.unseen_save_message is not None:
            message = analysis.unseen_save_message(w)
        else:
            save = first_save(saves)
            if save is not None:
                via = f" in `{save.via}()`" if save.via else ""
                related.append(Related(save.span, f"saved for backward by `{save.op}`{via}"))
            if m.module is not None and m.module.site is not None and m.form is Form.MODULE:
                related.append(Related(m.module.site, f"`{m.module.display}(inplace=True)` built here"))
            message = analysis.message(w, verdict, related)
        if confirmed:
            message += " (confirmed by `gradsafe trace`)"
        fix, reason = analysis.remedy(w, verdict)
        self._record(key, message, confidence, related, fix, reason)

    def _record(self, key: tuple[str, Span], message: str, confidence: Confidence, related: list[Related],
                fix: Fix | None, reason: str | None) -> None:
        """The finding of rule ``key[0]`` at span ``key[1]``, in this scope."""
        code, span = key
        self.findings[key] = Finding(
            code=code,
            message=message,
            span=span,
            confidence=confidence,
            related=tuple(related),
            fix=fix,
            unfixable_reason=reason,
            scope=self.scope.qualname if self.scope.qualname != "<module>" else "",
        )

    # ------------------------------------------------------------------ results
    def results(self) -> list[Finding]:
        """The findings, minus argument-dependent ones that no observed call can trigger."""
        if self.argument_dependent and self.ctx.call_grads.get(self.scope.qualname) is Tri.NO:
            return [f for k, f in self.findings.items() if k not in self.argument_dependent]
        return list(self.findings.values())


def _is_grad_buffer(node: ast.expr) -> bool:
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "grad"


def _pending(facts: Facts) -> frozenset[Save]:
    saves: set[Save] = set()
    for _, f in facts:
        saves |= f.saves
    return frozenset(saves)


def _release(state: State, ref: Ref, saves: frozenset[Save]) -> None:
    """After reporting, forget these saves so one bug gives one finding, not a cascade."""
    for sid, facts in state.storages(ref):
        if facts.saves & saves:
            state.heap[sid] = type(facts)(**{**facts.__dict__, "saves": facts.saves - saves})
