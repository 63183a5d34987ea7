"""GS7xx, the analysis of ``gradsafe.rules.extension_points``: autograd's extension points.

Custom ``torch.autograd.Function``s: what ``F.apply(...)`` saves is modelled at the call
(``gradsafe.analysis.autograd_functions``, ``CallRules.call_function_apply``): inputs passed to
``ctx.save_for_backward`` are ordinary saves (GS102 when overwritten), inputs kept as ``ctx``
attributes are saves of role ``"ctx.<attr>"`` (GS701 here), an input returned (or a view of it)
comes back as a view produced by ``F.apply()`` (GS703 here).  GS702 is judged inside ``forward``.
"""

from __future__ import annotations

import ast

from gradsafe.analysis import remedies
from gradsafe.analysis.autograd_functions import function_facts, mutates_without_mark_dirty
from gradsafe.analysis.checks.base import RuleAnalysis, Verdict, Write, what, written_name
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.values import Alias, Save, Tri, View
from gradsafe.findings import Related
from gradsafe.rules.extension_points import CTX_ATTRIBUTE_MUTATED, FORWARD_MUTATES_INPUT, FUNCTION_VIEW_MUTATED

_CTX = "ctx."  # the role prefix of a tensor kept as a ctx attribute


def _ctx_saves(saves: frozenset[Save]) -> frozenset[Save]:
    return frozenset(s for s in saves if s.role.startswith(_CTX))


def ctx_attribute_overwritten(w: Write) -> Verdict | None:
    """GS701: a write to a tensor that only a custom Function's ``ctx`` attribute keeps (no version check).
    With a real save on it too, the write raises: the saved-tensor rules report it."""
    kept = _ctx_saves(w.saves)
    if kept and kept == w.saves and not w.m.through_data:
        return Verdict(CTX_ATTRIBUTE_MUTATED, premise=Tri.YES if any(s.certain for s in kept) else Tri.MAYBE,
                       saves=kept, release=True)
    return None


def function_view_mutated(w: Write) -> Verdict | None:
    """GS703: the output of ``F.apply(...)``, an input of ``forward`` or a view of one, written with grad on."""
    ref, producer = w.m.target, w.m.target.producer
    if (not w.m.grad_on or ref.alias is not Alias.NONE or ref.view is not View.VIEW or ref.grad is Tri.NO
            or producer is None or not producer.op.endswith(".apply()")):
        return None
    facts = function_facts(w.fix.ctx, producer.op[: -len(".apply()")])
    if facts is None or facts.returns_input is None:
        return None
    return Verdict(FUNCTION_VIEW_MUTATED, premise=ref.grad)


def forward_mutates_input(w: Write) -> Verdict | None:
    """GS702: inside a custom Function's ``forward``, a write to an input never marked dirty."""
    scope = w.scope
    node = scope.node
    if (scope.class_name is None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            or node.name != "forward" or not w.fix.ctx.is_autograd_function(scope.class_name)):
        return None
    inputs = {f.arg for _, f in w.facts if f.arg}
    written = sorted(p for p in inputs if mutates_without_mark_dirty(node, p))
    if not written or w.m.through_data or _copies_itself(w.m.node):
        return None
    return Verdict(FORWARD_MUTATES_INPUT)


def _copies_itself(node: ast.AST) -> bool:
    """``t.copy_(t)``: a write that leaves every value as it was (torch's own ``Resize`` does it)."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "copy_"
            and len(node.args) == 1 and ast.dump(node.args[0]) == ast.dump(node.func.value))


# ---------------------------------------------------------------------- messages and fixes
def _ctx_message(w: Write, v: Verdict, related: list[Related]) -> str:
    save = sorted(v.saves, key=lambda s: (s.span.line, s.span.col))[-1]
    related.append(Related(save.span, f"`{save.op}()` keeps this tensor as `{save.role}` here"))
    return (f"{what(w.m)} overwrites {written_name(w.m)}, which `{save.op}()` on line {save.span.line} keeps "
            f"as `{save.role}` (a plain ctx attribute, no version check); backward will silently use "
            "the new values")


def _ctx_fix(w: Write, v: Verdict) -> Plan:
    plan = remedies.by_form(w.m, w.state, w.fix, v.saves)
    if plan[0] is None:
        return None, (f"{plan[1]}; or keep the tensor with `ctx.save_for_backward` (a later write then "
                      "raises) or store a clone on ctx")
    return plan


def _forward_message(w: Write, v: Verdict, related: list[Related]) -> str:
    inputs = sorted({f.arg for _, f in w.facts if f.arg})
    name = f"`{inputs[0]}`" if inputs else written_name(w.m)
    return (f"{what(w.m)} writes the input {name} of a custom autograd.Function's `forward` in place without "
            f"`ctx.mark_dirty({name.strip('`')})`; autograd keeps treating the caller's tensor as unchanged, "
            "so gradients through the written values are silently lost")


def _forward_fix(w: Write, v: Verdict) -> Plan:
    inputs = sorted({f.arg for _, f in w.facts if f.arg})
    name = inputs[0] if inputs else "the input"
    return None, (f"call `ctx.mark_dirty({name})` in `forward` and return `{name}` (autograd then rebases "
                  f"the caller's tensor), or write into `{name}.clone()` if the caller must keep its values")


def _view_message(w: Write, v: Verdict, related: list[Related]) -> str:
    producer = w.m.target.producer
    assert producer is not None
    related.append(Related(producer.span, f"`{producer.op}` returns a view of its input here"))
    return (f"{what(w.m)} modifies {written_name(w.m)} in place, a view returned by the custom Function "
            f"`{producer.op}` on line {producer.span.line}; this raises at the call")


def _view_fix(w: Write, v: Verdict) -> Plan:
    plan = remedies.by_form(w.m, w.state, w.fix, v.saves)
    if plan[0] is None:
        return None, f"{plan[1]}; or return a clone from the Function's `forward`"
    return plan


ANALYSES = (
    RuleAnalysis(CTX_ATTRIBUTE_MUTATED, _ctx_message, _ctx_fix),
    RuleAnalysis(FORWARD_MUTATES_INPUT, _forward_message, _forward_fix),
    RuleAnalysis(FUNCTION_VIEW_MUTATED, _view_message, _view_fix),
)
