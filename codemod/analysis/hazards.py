"""The judgement: is this in-place write a hazard, under which rule, and what fix does it need?

Called by the interpreter for every write (``Judge.on_mutation``).  The checks mirror the four
runtime checks of autograd and the two silent failure modes (see docs in ``codemod/rules``):

1. writes through ``.data`` to a saved tensor: silent wrong gradients (GS401);
2. with grad mode on: a leaf that requires grad (GS201/GS203/GS204), a view of one (GS202), an
   output of unbind/split/chunk (GS301), a view made under no_grad (GS303), ``out=`` (GS302);
3. in any grad mode (the version counter moves under ``no_grad`` too): a tensor an earlier op
   saved for backward (GS101 result, GS102 input, GS402 through ``.detach()``, GS502 via a helper);
4. a module buffer updated with a value that requires grad (GS205);
5. the caller's tensor mutated in a module's ``forward`` (GS501);
6. under ``--policy strict``, any other write in differentiable code (GS901).

Everything else is a memory optimisation and is left alone.  The fix for a hazard is chosen by
``gradsafe.analysis.remedies``.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Mapping

from gradsafe.analysis import remedies
from gradsafe.analysis.liveness import Reads
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.values import Alias, Save, State, Storage, Tri, View
from gradsafe.findings import Confidence, Finding, Related
from gradsafe.rules import Policy, get_rule
from gradsafe.rules.arguments import ARGUMENT_MUTATED, HELPER_MUTATES_ARGUMENT
from gradsafe.rules.data_aliases import DATA_UPDATE_SPELLING, DATA_WRITE_TO_SAVED, DETACH_ALIAS_WRITE
from gradsafe.rules.leaves import BUFFER_ATTACHED, LEAF_MUTATED, LEAF_VIEW_MUTATED, PARAMETER_IN_FORWARD, PARAMETER_UPDATE
from gradsafe.rules.policy import INPLACE_IN_DIFFERENTIABLE_CODE
from gradsafe.rules.saved_tensors import SAVED_INPUT, SAVED_RESULT
from gradsafe.rules.views import MULTI_OUTPUT_VIEW, NO_GRAD_VIEW, OUT_WITH_GRAD

if TYPE_CHECKING:
    from gradsafe.analysis.context import ModuleContext
    from gradsafe.analysis.interpreter import Interpreter, Scope


class Judge:
    """Collects the findings of one scope (function or module body)."""

    def __init__(self, ctx: "ModuleContext", scope: "Scope", policy: Policy, confirmed: Mapping[int, str] | None = None) -> None:
        self.ctx = ctx
        self.scope = scope
        self.policy = policy
        self.confirmed = confirmed or {}  # line -> rule code that `gradsafe trace` saw happen there
        self.findings: dict[tuple[str, object], Finding] = {}
        self.escaped: set[int] = set()  # storages reachable from outside (attributes, containers)
        self.module_uses: list[tuple[Mutation, str | None]] = []  # in-place module calls: (use, why unsafe)
        self.argument_dependent: set[tuple[str, object]] = set()  # keys of findings resting on arguments

    @property
    def reads(self) -> Reads:
        """Where names are read in this scope: built only when a finding needs it for its fix."""
        return self.ctx.reads(self.scope.node)

    # ------------------------------------------------------------------ the decision
    def on_mutation(self, m: Mutation, state: State, interp: "Interpreter") -> None:
        before = len(self.findings)
        self.judge_mutation(m, state, interp)
        code = self.confirmed.get(m.span.line)
        if (
            code is not None
            and code != "GS502"
            and not self.scope.is_forward
            and any(f.arg for _, f in state.storages(m.target))
            and not remedies.returns_a_value(self.scope.node)
        ):
            # A helper that writes its caller's tensor and returns nothing: rewriting its body would
            # make the call a no-op; the fix belongs at the call site (GS502).
            code = None
        if code is not None and len(self.findings) == before and get_rule(code) is not None:
            # The traced run saw this write break autograd: report it even where the static
            # judgement alone was silent or only "possible", so that it gets its fix.
            saves = _pending(state.storages(m.target))
            self.report(get_rule(code), m, state, interp, saves=saves, premise=Tri.YES, confirmed=True)

    def judge_mutation(self, m: Mutation, state: State, interp: "Interpreter") -> None:
        ref = m.target
        if not ref.is_tensorish or _is_grad_buffer(m.target_node):
            return  # `.grad` tensors are not part of any graph: zeroing or clipping them is fine
        facts = state.storages(ref)
        saves = _pending(facts)
        grad_on = m.grad_on
        if m.form in (Form.MODULE,) and m.module is not None:
            self.module_uses.append((m, remedies.module_use_problem(m, state, self)))

        if m.through_data:
            if saves:
                self.report(DATA_WRITE_TO_SAVED, m, state, interp, saves=saves)
                _release(state, ref, saves)
            elif grad_on and any(f.leaf is Tri.YES for _, f in facts) and self._is_update(m, state, facts):
                self.report(DATA_UPDATE_SPELLING, m, state, interp)
            return

        # Operands that only may require grad because they come out of calls we cannot see into
        # are speculation, not the "an argument may require grad" assumption: strict policy only.
        operands_grad = m.operands_grad
        if operands_grad is Tri.MAYBE and m.operands_opaque and self.policy is Policy.DEFAULT:
            operands_grad = Tri.NO

        if grad_on and ref.alias is Alias.NONE:
            leaves = [(sid, f) for sid, f in facts if f.leaf is Tri.YES]
            # `p -= lr * p.grad` on a `p` of unknown origin (`for p in params`): it has a `.grad`,
            # so it is a leaf that requires grad.
            own_grad = m.reads_own_grad and not any(f.leaf is Tri.NO for _, f in facts)
            if leaves or own_grad:
                leaves = leaves or [(sid, f) for sid, f in facts if f.leaf is Tri.MAYBE]
                self.report_leaf(m, state, interp, leaves, facts)
                return
            if ref.view is View.MULTI and ref.grad is not Tri.NO:
                self.report(MULTI_OUTPUT_VIEW, m, state, interp, premise=ref.grad)
                return
            if ref.nograd_view:
                self.report(NO_GRAD_VIEW, m, state, interp, premise=ref.grad)
                return
            if m.form is Form.OUT and (operands_grad is not Tri.NO or ref.grad is not Tri.NO):
                self.report(OUT_WITH_GRAD, m, state, interp, premise=Tri.any([operands_grad, ref.grad]))
                return

        if saves:
            if m.form is Form.HELPER:
                rule = HELPER_MUTATES_ARGUMENT
            elif ref.alias is Alias.DETACH:
                rule = DETACH_ALIAS_WRITE
            elif any(s.role == "output" for s in saves):
                rule = SAVED_RESULT
            else:
                rule = SAVED_INPUT
            self.report(rule, m, state, interp, saves=saves)
            _release(state, ref, saves)
            return

        if (
            grad_on
            and self.scope.class_name is not None
            and self.ctx.is_module_class(self.scope.class_name)
            and any(f.buffer and not f.param for _, f in facts)
            and operands_grad is not Tri.NO
            and m.form is not Form.HELPER
        ):
            self.report(BUFFER_ATTACHED, m, state, interp, premise=operands_grad)
            return

        if (
            grad_on
            and self.scope.is_forward
            and ref.alias is Alias.NONE
            and m.form not in (Form.HELPER, Form.SEQUENTIAL)
            and any(f.arg for _, f in facts)
        ):
            self.report(ARGUMENT_MUTATED, m, state, interp, premise=Tri.MAYBE)
            return

        if self.policy is Policy.STRICT and grad_on and self.scope.differentiable and m.form is not Form.HELPER:
            self.report(INPLACE_IN_DIFFERENTIABLE_CODE, m, state, interp)

    def report_leaf(self, m: Mutation, state: State, interp: "Interpreter", leaves, facts) -> None:
        params = any(f.param for _, f in leaves)
        if m.form is Form.HELPER:
            self.report(HELPER_MUTATES_ARGUMENT, m, state, interp, leaves=leaves)
        elif self.scope.is_forward and params and m.name and m.name.startswith("self.") and not self._is_update(m, state, facts):
            self.report(PARAMETER_IN_FORWARD, m, state, interp, leaves=leaves)
        elif self._is_update(m, state, facts):
            self.report(PARAMETER_UPDATE, m, state, interp, leaves=leaves)
        elif m.target.view is not View.NONE or m.subscript:
            self.report(LEAF_VIEW_MUTATED, m, state, interp, leaves=leaves)
        else:
            self.report(LEAF_MUTATED, m, state, interp, leaves=leaves)

    def _is_update(self, m: Mutation, state: State, facts: list[tuple[int, Storage]]) -> bool:
        """An optimizer-style update: after backward, reading `.grad`, or of parameters outside forward."""
        if state.backward is not Tri.NO or m.operands_mention_grad:
            return True
        return any(f.param for _, f in facts) and not self.scope.is_forward

    # ------------------------------------------------------------------ findings
    def report(self, rule, m: Mutation, state: State, interp: "Interpreter", *, saves: frozenset[Save] = frozenset(),
               leaves=(), premise: Tri = Tri.YES, confirmed: bool = False) -> None:
        """Record a finding.  ``premise`` is how sure we are that the values involved require grad;
        ``confirmed``: a traced run saw it happen, which settles every premise."""
        span = m.span
        key = (rule.code, span)
        if key in self.findings:
            return
        if saves and not confirmed:
            premise = Tri.YES if any(s.certain for s in saves) else Tri.MAYBE
        certain = premise is Tri.YES and (m.module is None or m.module.certain)
        confidence = Confidence.CERTAIN if certain else Confidence.POSSIBLE
        if not certain and self.policy is Policy.DEFAULT and not self.scope.grad_context:
            # Only a hazard if an argument requires grad, in code nothing shows runs under autograd.
            return
        if not certain and self.scope.inherited_context:
            self.argument_dependent.add(key)
        if confirmed and not saves and rule.code in _NEEDS_SAVE:
            message, related = _confirmed_message(m, rule.code), []
        else:
            message, related = self.explain(rule.code, m, state, saves, leaves)
        if confirmed:
            message += " (confirmed by `gradsafe trace`)"
        fix, reason = remedies.plan(rule.code, m, state, interp, self, saves)
        self.findings[key] = Finding(
            code=rule.code,
            message=message,
            span=span,
            confidence=confidence,
            related=tuple(related),
            fix=fix,
            unfixable_reason=reason,
            scope=self.scope.qualname if self.scope.qualname != "<module>" else "",
        )

    def explain(self, code: str, m: Mutation, state: State, saves, leaves) -> tuple[str, list[Related]]:
        what = f"`{m.display}`"
        name = f"`{m.name}`" if m.name else f"`{_short(m.target_node)}`"
        related: list[Related] = []
        save = _first_save(saves)
        if save is not None:
            related.append(Related(save.span, f"saved for backward by `{save.op}`" + (f" in `{save.via}()`" if save.via else "")))
        if m.module is not None and m.module.site is not None and m.form is Form.MODULE:
            related.append(Related(m.module.site, f"`{m.module.display}(inplace=True)` built here"))
        if code in ("GS101", "GS102", "GS402", "GS401") or (code == "GS502" and save is not None):
            assert save is not None
            where = f"`{save.op}` on line {save.span.line}" + (f" (in `{save.via}()`)" if save.via else "")
            role = "its result" if save.role == "output" else "an input"
            if code in ("GS401", "GS402"):
                bases = [n for n in state.names_of(m.target.sids) if n != m.name and state.env[n].alias is Alias.NONE]
                direct = isinstance(m.target_node, ast.Attribute) and m.target_node.attr in ("data", "detach")
                if not bases and m.name and (direct or m.target.alias is Alias.NONE):
                    bases = [m.name]  # `y.data.clamp_()`: the written name is the tensor itself
                into = f"`{bases[0]}`" if bases else "a tensor"
                via = "`.data`" if code == "GS401" else "a `.detach()` alias"
                if m.name and bases and bases[0] != m.name:
                    via += f" (`{m.name}`)"
                consequence = "gradients will be silently wrong" if code == "GS401" else "backward will fail"
                return f"{what} writes through {via} into {into}, which {where} saved for backward ({role}); {consequence}", related
            if code == "GS502":
                assert m.helper_span is not None
                related.append(Related(m.helper_span, f"`{m.helper}()` writes its argument in place here"))
                return (f"{what} mutates {name} in place (`{m.method}` on line {m.helper_span.line} in `{m.helper}()`), "
                        f"and {where} saved {name} for backward; backward will fail", related)
            if m.form is Form.SEQUENTIAL:
                return (f"`{m.op}` inside `nn.Sequential` overwrites the output of the layer before it, which "
                        f"{where} saved for backward; backward will fail", related)
            if m.form is Form.MODULE:
                return (f"{what} (`{m.op}`) overwrites {name}, which {where} saved for backward ({role}); "
                        "backward will fail", related)
            return f"{what} overwrites {name}, which {where} saved for backward ({role}); backward will fail", related
        if code in ("GS201", "GS202", "GS203", "GS204", "GS502"):
            origin = next((f for _, f in leaves if f.origin is not None), None)
            label = next((f.label for _, f in leaves if f.label), "a leaf tensor")
            if origin is not None and origin.origin is not None:
                related.append(Related(origin.origin, "the leaf is created here"))
            if code == "GS203":
                return (f"{what} updates {name} ({label}) outside `torch.no_grad()`; this raises `a leaf Variable that "
                        "requires grad is being used in an in-place operation`", related)
            if code == "GS204":
                return (f"{what} mutates {name}, an `nn.Parameter`, in `forward`; this raises at the call, and "
                        f"`{m.name} = ...` would raise TypeError", related)
            if code == "GS202":
                return f"{what} writes into a view of {name} ({label}), a leaf that requires grad; this raises at the call", related
            if code == "GS502":
                assert m.helper_span is not None
                return (f"{what} mutates {name} in place (line {m.helper_span.line} in `{m.helper}()`), and {name} is "
                        "a leaf that requires grad; this raises", related)
            return f"{what} mutates {name} ({label}), a leaf that requires grad; this raises at the call", related
        if code == "GS205":
            return (f"{what} updates {name}, a module buffer, with a value that requires grad outside `torch.no_grad()`; "
                    "the buffer joins this step's graph and the next backward fails", related)
        if code == "GS301":
            producer = m.target.producer
            where = f"`{producer.op}` on line {producer.span.line}" if producer else "`unbind`/`split`/`chunk`"
            if producer:
                related.append(Related(producer.span, "multi-output views are made here"))
            return f"{what} modifies {name}, an output of {where}, in place; this raises at the call", related
        if code == "GS302":
            return f"{what} writes to `out=` while an argument requires grad; this raises at the call", related
        if code == "GS303":
            return f"{what} modifies {name}, a view created under `torch.no_grad()`, with grad mode on; this raises at the call", related
        if code == "GS403":
            return f"{what} updates {name} through `.data`; `with torch.no_grad():` is the modern spelling", related
        if code == "GS501":
            return (f"{what} mutates the caller's tensor {name} in place; if the caller passes a leaf that requires grad "
                    "this raises, and if the caller's value was saved for backward, backward fails", related)
        return f"{what} is an in-place op in differentiable code", related

    # ------------------------------------------------------------------ results
    def results(self) -> list[Finding]:
        """The findings, minus argument-dependent ones that no observed call can trigger."""
        if self.argument_dependent and self.ctx.call_grads.get(self.scope.qualname) is Tri.NO:
            return [f for k, f in self.findings.items() if k not in self.argument_dependent]
        return list(self.findings.values())


_NEEDS_SAVE = frozenset({"GS101", "GS102", "GS401", "GS402", "GS502"})


def _confirmed_message(m: Mutation, code: str) -> str:
    """A message for a traced hazard whose save the static analysis could not see (another module)."""
    what = f"`{m.display}`"
    if code == "GS401":
        return f"{what} writes through `.data` into a tensor that was saved for backward; gradients will be silently wrong"
    return f"{what} overwrites a tensor that was saved for backward; backward will fail"


def _is_grad_buffer(node: ast.expr) -> bool:
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "grad"


def _pending(facts: list[tuple[int, Storage]]) -> frozenset[Save]:
    saves: set[Save] = set()
    for _, f in facts:
        saves |= f.saves
    return frozenset(saves)


def _release(state: State, ref, saves: frozenset[Save]) -> None:
    """After reporting, forget these saves so one bug gives one finding, not a cascade."""
    for sid, facts in state.storages(ref):
        if facts.saves & saves:
            state.heap[sid] = type(facts)(**{**facts.__dict__, "saves": facts.saves - saves})


def _first_save(saves: frozenset[Save]) -> Save | None:
    if not saves:
        return None
    return sorted(saves, key=lambda s: (s.span.line, s.span.col, s.role != "output"), reverse=True)[0]


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
