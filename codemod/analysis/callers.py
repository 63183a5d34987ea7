"""Callers' grad mode, in one file: functions and methods that only ever run under ``no_grad``.

A helper whose every in-file call is inside a ``@torch.no_grad()`` function or a ``with
torch.no_grad():`` block (timm's EMA ``update()`` calling ``apply_update_no_buffers_``) runs with
grad mode off, exactly as if it were decorated itself.  Calls are matched by name: ``name(...)``
for a function, ``self.name(...)`` / ``cls.name(...)`` for a method.  A name that is also read
without being called (passed as a callback, stored) may run anywhere, so it is left out; so is a
name called nowhere in the file (its callers are elsewhere).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

GradModeOf = Callable[[ast.expr], "bool | None"]


def nograd_only_callees(tree: ast.Module, grad_mode_of: GradModeOf) -> frozenset[str]:
    """The names of in-file functions and methods whose every call in the file runs under no_grad."""
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    calls: dict[str, list[bool]] = {}  # name -> grad mode off at each call
    called: set[int] = set()  # id() of the Name/Attribute nodes that are a call's callee

    def callee(func: ast.expr) -> str | None:
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            return func.attr
        return None

    def visit(node: ast.AST, off: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            modes = [grad_mode_of(d) for d in node.decorator_list]
            mode = next((m for m in modes if m is not None), None)
            for d in node.decorator_list:
                visit(d, off)
            inner = (not mode) if mode is not None else False  # a function body starts in the caller's mode: unknown
            for stmt in node.body:
                visit(stmt, inner)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            inner = off
            for item in node.items:
                visit(item.context_expr, off)
                mode = grad_mode_of(item.context_expr)
                if mode is not None:
                    inner = not mode
            for stmt in node.body:
                visit(stmt, inner)
            return
        if isinstance(node, ast.Call):
            name = callee(node.func)
            if name is not None and name in defined:
                calls.setdefault(name, []).append(off)
                called.add(id(node.func))
        for child in ast.iter_child_nodes(node):
            visit(child, off)

    visit(tree, False)
    escaped: set[str] = set()
    for n in ast.walk(tree):
        if id(n) in called:
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in calls:
            escaped.add(n.id)
        elif isinstance(n, ast.Attribute) and n.attr in calls and isinstance(n.ctx, ast.Load):
            escaped.add(n.attr)
    return frozenset(name for name, modes in calls.items() if modes and all(modes) and name not in escaped)
