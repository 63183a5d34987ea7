"""What an in-file ``torch.autograd.Function`` does with its inputs, read from its ``forward``.

A call ``F.apply(a, b)`` of a custom Function is opaque to autograd's bookkeeping in ways the
judge must model at the call site (``gradsafe.analysis.interpreter.calls``):

* the inputs ``forward`` passes to ``ctx.save_for_backward`` are saved by the call (a later write
  to them makes backward raise, like any saved input: GS102);
* the inputs it stores as plain ``ctx`` attributes (``ctx.x = x``) are kept *without* a version
  check: a later write is silently read by backward (GS701);
* an input it writes in place without ``ctx.mark_dirty`` (GS702, judged inside ``forward``);
* an input (or a view of one) that ``forward`` returns: the caller's in-place write on the result
  is refused by autograd (GS703).

Read syntactically and conservatively: an input counts only when ``forward`` never rebinds its
name (``x = x.clone(); ctx.save_for_backward(x)`` saves a private copy, not the caller's tensor).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from gradsafe.analysis.context import FunctionNode, ModuleContext

# Methods whose result shares the receiver's storage (a returned view of an input).
_VIEW_METHODS = frozenset({
    "view", "view_as", "reshape", "narrow", "select", "transpose", "t", "permute", "squeeze", "unsqueeze",
    "expand", "expand_as", "flatten", "unflatten", "diagonal", "as_strided", "detach", "unfold", "movedim",
})


@dataclass(frozen=True)
class FunctionFacts:
    """The inputs of ``forward`` (after ``ctx``) and what it does with them."""

    params: tuple[str, ...]
    saved: frozenset[str]  # passed to ctx.save_for_backward as they came in
    on_ctx: dict[str, str]  # param -> the ctx attribute that keeps it (no version check)
    dirty: frozenset[str]  # passed to ctx.mark_dirty
    returns_input: str | None  # forward returns this input or a view of it


def forward_of(ctx: ModuleContext, class_name: str) -> FunctionNode | None:
    """The ``forward`` of an in-file autograd.Function, or None."""
    if class_name not in ctx.classes or not ctx.is_autograd_function(class_name):
        return None
    found = ctx.find_method(class_name, "forward")
    return None if found is None else found[1]


def function_facts(ctx: ModuleContext, class_name: str) -> FunctionFacts | None:
    forward = forward_of(ctx, class_name)
    return None if forward is None else _facts(forward)


@lru_cache(maxsize=512)
def _facts(forward: FunctionNode) -> FunctionFacts | None:
    args = forward.args
    names = [a.arg for a in args.posonlyargs + args.args]
    if not names:
        return None
    ctx_name, params = names[0], tuple(names[1:])
    rebound = _rebound(forward)
    kept = [p for p in params if p not in rebound]
    saved: set[str] = set()
    dirty: set[str] = set()
    on_ctx: dict[str, str] = {}
    for node in ast.walk(forward):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_name(node.func.value, ctx_name):
            passed = {a.id for a in node.args if isinstance(a, ast.Name) and a.id in kept}
            if node.func.attr == "save_for_backward":
                saved |= passed
            elif node.func.attr == "mark_dirty":
                dirty |= {a.id for a in node.args if isinstance(a, ast.Name) and a.id in params}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in kept:
            for target in node.targets:
                if isinstance(target, ast.Attribute) and _is_name(target.value, ctx_name):
                    on_ctx.setdefault(node.value.id, target.attr)
    returns = [n.value for n in ast.walk(forward) if isinstance(n, ast.Return) and n.value is not None]
    returned = {_viewed_input(r, kept) for r in returns}
    returns_input = next(iter(returned)) if len(returned) == 1 else None
    return FunctionFacts(params, frozenset(saved), on_ctx, frozenset(dirty), returns_input)


def mutates_without_mark_dirty(forward: FunctionNode, param: str) -> bool:
    """``forward`` writes ``param`` in place and never marks it dirty."""
    facts = _facts(forward)
    return facts is not None and param in facts.params and param not in facts.dirty


def _rebound(forward: FunctionNode) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(forward):
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign,)):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        for target in targets:
            out |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} if not isinstance(node, ast.AugAssign) else set()
    return out


def _viewed_input(expr: ast.expr, params: list[str]) -> str | None:
    """The input ``expr`` is, or is a view of (a slice, ``x.view(...)``, ``x.t()``)."""
    while True:
        if isinstance(expr, ast.Name):
            return expr.id if expr.id in params else None
        if isinstance(expr, ast.Subscript):
            expr = expr.value
        elif (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
              and expr.func.attr in _VIEW_METHODS):
            expr = expr.func.value
        else:
            return None


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name
