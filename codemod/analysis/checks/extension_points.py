"""GS7xx, the analysis of ``gradsafe.rules.extension_points``.

GS730-GS759: writes inside a function the file hands to a function transform (``torch.func``,
``vmap``, ``torch.autograd.functional``); which functions those are is found by
``gradsafe.analysis.transformed`` and recorded on the scope (``Scope.transforms``).
"""

from __future__ import annotations

import ast

from gradsafe.analysis import remedies
from gradsafe.analysis.checks.base import NO_HAZARD, RuleAnalysis, Verdict, Write, what, written_name
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.transformed import TransformUse
from gradsafe.analysis.values import Alias
from gradsafe.findings import Related, Span
from gradsafe.rules.extension_points import TRANSFORM_CAPTURED_MUTATED, TRANSFORM_INPUT_MUTATED, VMAP_UNBATCHED_WRITE

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
    RuleAnalysis(TRANSFORM_INPUT_MUTATED, _input_message, _input_remedy),
    RuleAnalysis(TRANSFORM_CAPTURED_MUTATED, _captured_message, _report_only),
    RuleAnalysis(VMAP_UNBATCHED_WRITE, _vmap_message, _vmap_report_only),
)
