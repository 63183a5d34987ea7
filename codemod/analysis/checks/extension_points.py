"""GS7xx, the analysis of ``gradsafe.rules.extension_points``: autograd's extension points.

Custom ``torch.autograd.Function``s (GS701-GS729): what ``F.apply(...)`` saves is modelled at the
call (``gradsafe.analysis.autograd_functions``, ``CallRules.call_function_apply``): inputs passed to
``ctx.save_for_backward`` are ordinary saves (GS102 when overwritten), inputs kept as ``ctx``
attributes are saves of role ``"ctx.<attr>"`` (GS701 here), an input returned (or a view of it)
comes back as a view produced by ``F.apply()`` (GS703 here).  GS702 is judged inside ``forward``.

Function transforms (GS730-GS759): writes inside a function the file hands to ``torch.func``,
``vmap`` or ``torch.autograd.functional``; which functions those are is found by
``gradsafe.analysis.transformed`` and recorded on the scope (``Scope.transforms``).
"""

from __future__ import annotations

import ast

from gradsafe.analysis import remedies
from gradsafe.analysis.autograd_functions import function_facts, mutates_without_mark_dirty
from gradsafe.analysis.checks.base import NO_HAZARD, RuleAnalysis, Verdict, Write, what, written_name
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.transformed import TransformUse
from gradsafe.analysis.values import Alias, Save, Tri, View
from gradsafe.findings import Related, Span
from gradsafe.rules.extension_points import (
    CTX_ATTRIBUTE_MUTATED,
    FORWARD_MUTATES_INPUT,
    FUNCTION_VIEW_MUTATED,
    TRANSFORM_CAPTURED_MUTATED,
    TRANSFORM_INPUT_MUTATED,
    VMAP_UNBATCHED_WRITE,
)

# ---------------------------------------------------------------------- GS701-GS729: custom Functions
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


# ---------------------------------------------------------------------- GS730-GS759: function transforms

# Factories whose result has no batch dimension under vmap (``*_like`` and ``x.new_*`` follow their argument).
_UNBATCHED_FACTORIES = frozenset(
    f"torch.{name}" for name in ("zeros", "ones", "empty", "full", "tensor", "eye", "arange", "rand", "randn")
)
_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def transform_write(w: Write) -> Verdict | None:
    """GS730, GS731, GS732: a write the transform the function is handed to refuses, or gets wrong."""
    uses = w.scope.transforms
    m = w.m
    if not uses or m.target.alias is not Alias.NONE or m.form in (Form.HELPER, Form.SEQUENTIAL) or not m.name:
        return None
    root = m.name.split(".")[0]
    if root == "self":
        return None
    node = w.scope.node
    bound = _bound_names(node)
    params = w.scope.params
    if root in params and root not in bound:
        position = params.index(root)
        if any(u.differentiates and u.differentiated is not None and position in u.differentiated for u in uses):
            return Verdict(TRANSFORM_INPUT_MUTATED)
        return None
    captured = root not in params and root not in bound
    if captured and any(u.is_func for u in uses):
        return Verdict(TRANSFORM_CAPTURED_MUTATED)
    if any(u.is_vmap for u in uses) and _depends_on_arguments(m, params, bound):
        if captured:
            return Verdict(VMAP_UNBATCHED_WRITE)
        factory = _factory_made(w, root) if root in bound else None
        if factory is not None:
            # The first write raises; the ones after it never run, and report the same buffer again.
            return Verdict(VMAP_UNBATCHED_WRITE) if _first_write_after(w, root, factory) else NO_HAZARD
    return None


def _first_write_after(w: Write, name: str, factory: ast.Call) -> bool:
    """Is the judged write the first statement after the factory call that writes ``name`` in place?"""
    line = w.m.stmt.lineno
    for node in ast.walk(w.scope.node):
        if not isinstance(node, ast.stmt) or not factory.lineno < node.lineno < line:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        for t in targets:
            if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name:
                return False
            if isinstance(node, ast.AugAssign) and isinstance(t, ast.Name) and t.id == name:
                return False
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (isinstance(func, ast.Attribute) and func.attr.endswith("_") and isinstance(func.value, ast.Name)
                    and func.value.id == name):
                return False
    return True


def _factory_made(w: Write, name: str) -> ast.Call | None:
    """The factory call (``torch.zeros(3)``) that makes ``name``, when every binding of it in the function is one."""
    calls: list[ast.Call] = []
    pending = list(ast.iter_child_nodes(w.scope.node))
    while pending:
        child = pending.pop()
        if isinstance(child, _SCOPE_NODES):
            continue
        pending.extend(ast.iter_child_nodes(child))
        if isinstance(child, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.AugAssign, ast.AnnAssign)):
            if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
                   for t in _targets(child) for n in ast.walk(t)):
                return None
        if not isinstance(child, ast.Assign):
            continue
        names = [n for t in child.targets for n in ast.walk(t)
                 if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)]
        if not names:
            continue
        value = child.value
        if not (len(child.targets) == 1 and isinstance(child.targets[0], ast.Name) and isinstance(value, ast.Call)):
            return None
        if w.fix.ctx.imports.resolve(value.func) not in _UNBATCHED_FACTORIES:
            return None
        calls.append(value)
    return calls[0] if calls else None


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.For, ast.AsyncFor, ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    return []


def _bound_names(node: ast.AST) -> frozenset[str]:
    """Names the function binds itself (assignments, loops, ``with ... as``), not in nested scopes."""
    names: set[str] = set()
    pending = list(ast.iter_child_nodes(node))
    while pending:
        child = pending.pop()
        if isinstance(child, _SCOPE_NODES):
            continue
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif isinstance(child, ast.arguments):
            continue
        pending.extend(ast.iter_child_nodes(child))
    return frozenset(names)


def _depends_on_arguments(m: Mutation, params: list[str], bound: frozenset[str]) -> bool:
    """Does the written value mention an argument, or a name the function computes (batched under vmap)?"""
    stmt = m.stmt
    if isinstance(stmt, ast.Assign):
        values: list[ast.AST] = [stmt.value]
    elif isinstance(stmt, ast.AugAssign):
        values = [stmt.value]
    elif isinstance(m.node, ast.Call):
        values = [*m.node.args, *(k.value for k in m.node.keywords)]
    else:
        return False
    local = set(params) | set(bound)
    return any(isinstance(n, ast.Name) and n.id in local for v in values for n in ast.walk(v))


def _transform_named(w: Write, pick: str) -> TransformUse:
    uses = w.scope.transforms
    chosen = [u for u in uses if (pick == "vmap" and u.is_vmap) or (pick == "func" and u.is_func)
              or (pick == "diff" and u.differentiates)]
    return (chosen or list(uses))[0]


def _input_message(w: Write, v: Verdict, related: list[Related]) -> str:
    use = _transform_named(w, "diff")
    related.append(Related(_line_span(w, use.line), f"`{use.short}` differentiates `{w.m.name}` here"))
    outcome = ("the derivative is silently that of the overwritten value" if use.create_graph
               else "this raises: the transform makes it a leaf that requires grad")
    return (f"{what(w.m)} mutates {written_name(w.m)}, an input that `{use.short}` (line {use.line}) differentiates; "
            f"{outcome}")


def _captured_message(w: Write, v: Verdict, related: list[Related]) -> str:
    use = _transform_named(w, "func")
    related.append(Related(_line_span(w, use.line), f"the function is handed to `{use.short}` here"))
    return (f"{what(w.m)} mutates {written_name(w.m)}, a tensor captured from outside the function handed to "
            f"`{use.short}` (line {use.line}); the transform refuses this at the call. Return the value as an "
            "auxiliary output (`has_aux=True`) and update the tensor outside, or pass the tensor in as an argument")


def _vmap_message(w: Write, v: Verdict, related: list[Related]) -> str:
    use = _transform_named(w, "vmap")
    related.append(Related(_line_span(w, use.line), f"the function is batched by `{use.short}` here"))
    factory = _factory_made(w, (w.m.name or "").split(".")[0])
    if factory is not None:
        short = (w.fix.ctx.imports.resolve(factory.func) or "torch.zeros").rsplit(".", 1)[-1]
        related.append(Related(w.fix.ctx.span(factory), f"`{short}()` makes a tensor without a batch dimension"))
        advice = (f"allocate it from an argument (`x.new_{short}(...)`, `torch.{short}_like(x)`) "
                  "or build the result with `torch.stack`")
    else:
        advice = "pass the tensor in as an argument, or return the values and update it outside `vmap`"
    return (f"{what(w.m)} writes per-sample values into {written_name(w.m)}, which `{use.short}` (line {use.line}) "
            f"does not batch; this raises at the call: {advice}")


def _line_span(w: Write, line: int) -> Span:
    text = w.fix.ctx.source.lines[line - 1] if 0 < line <= len(w.fix.ctx.source.lines) else ""
    start = len(text) - len(text.lstrip())
    return Span(line, start, line, len(text.rstrip("\n")))


def _input_remedy(w: Write, v: Verdict) -> Plan:
    return remedies.by_form(w.m, w.state, w.fix, v.saves)


def _report_only(w: Write, v: Verdict) -> Plan:
    return None, "report only: the value must leave the transformed function, which changes its signature and callers"


def _vmap_report_only(w: Write, v: Verdict) -> Plan:
    return None, "report only: the buffer must be allocated from an argument or the result built out of place"


ANALYSES = (
    RuleAnalysis(CTX_ATTRIBUTE_MUTATED, _ctx_message, _ctx_fix),
    RuleAnalysis(FORWARD_MUTATES_INPUT, _forward_message, _forward_fix),
    RuleAnalysis(FUNCTION_VIEW_MUTATED, _view_message, _view_fix),
    RuleAnalysis(TRANSFORM_INPUT_MUTATED, _input_message, _input_remedy),
    RuleAnalysis(TRANSFORM_CAPTURED_MUTATED, _captured_message, _report_only),
    RuleAnalysis(VMAP_UNBATCHED_WRITE, _vmap_message, _vmap_report_only),
)
