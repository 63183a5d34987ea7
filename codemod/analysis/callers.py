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
    """The names of in-file functions and methods whose every call in the file runs under no_grad.

    One walk over the file: it notes the functions defined, the grad mode at every call by name,
    and every read of such a name that is not a call's callee (the function escapes).
    """
    defined: set[str] = set()
    calls: dict[str, list[bool]] = {}  # name -> grad mode off at each call
    escaped: set[str] = set()

    def callee(func: ast.expr) -> str | None:
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            return func.attr
        return None

    # (node, grad mode off here, the node is the callee of a call by name)
    pending: list[tuple[ast.AST, bool, bool]] = [(tree, False, False)]
    while pending:
        node, off, is_callee = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
            modes = [grad_mode_of(d) for d in node.decorator_list]
            mode = next((m for m in modes if m is not None), None)
            inner = (not mode) if mode is not None else False  # a function body starts in the caller's mode: unknown
            pending.extend((d, off, False) for d in node.decorator_list)
            pending.extend((stmt, inner, False) for stmt in node.body)
            continue
        if isinstance(node, (ast.With, ast.AsyncWith)):
            inner = off
            for item in node.items:
                pending.append((item.context_expr, off, False))
                mode = grad_mode_of(item.context_expr)
                if mode is not None:
                    inner = not mode
            pending.extend((stmt, inner, False) for stmt in node.body)
            continue
        if isinstance(node, ast.Call):
            name = callee(node.func)
            if name is not None:
                calls.setdefault(name, []).append(off)
            pending.append((node.func, off, name is not None))
            pending.extend((arg, off, False) for arg in node.args)
            pending.extend((kw, off, False) for kw in node.keywords)
            continue
        if not is_callee:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                escaped.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                escaped.add(node.attr)
        pending.extend((child, off, False) for child in ast.iter_child_nodes(node))
    return frozenset(
        name for name, modes in calls.items() if name in defined and modes and all(modes) and name not in escaped
    )
