"""Saves that no backward can reach: the op's result feeds only non-differentiable consumers.

``dist = x @ codebook.t()`` saves ``codebook`` for backward, but when ``dist`` is only ever read by
``dist.argmax(-1)`` (or a comparison, ``.long()``, an index, ``.shape``), no gradient flows through
the product: the graph that holds the save is never part of any backward, so overwriting the saved
tensor afterwards (an EMA update of the codebook through ``.data``) corrupts nothing.

The test is syntactic and conservative: the op must be consumed directly by such a consumer, or be
the whole value of ``name = op(...)`` where every read of ``name`` in the scope is one.
"""

from __future__ import annotations

import ast

from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import Save
from gradsafe.files.source import SourceFile

# Methods and torch functions whose result carries no gradient back to their input.
NO_GRAD_CONSUMERS = frozenset({
    "argmax", "argmin", "argsort", "long", "int", "bool", "short", "byte", "eq", "ne", "gt", "ge", "lt", "le",
    "isnan", "isinf", "isfinite", "nonzero", "size", "dim", "numel",
})
_SHAPE_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda"})


class Consumers:
    """Per scope: the expression parents, and where each op node is (found by its span)."""

    def __init__(self, scope: ast.AST, source: SourceFile) -> None:
        self.scope = scope
        self.source = source
        self.parents: dict[ast.AST, ast.AST] = {}
        self.loads: dict[str, list[ast.Name]] = {}
        self.by_line: dict[int, list[ast.expr]] = {}
        for node in ast.walk(scope):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self.loads.setdefault(node.id, []).append(node)
            if isinstance(node, (ast.Call, ast.BinOp, ast.UnaryOp)):
                self.by_line.setdefault(node.lineno, []).append(node)

    def unreachable(self, save: Save) -> bool:
        """No backward can reach ``save``: its op's result is only read by non-differentiable consumers."""
        if save.via:
            return False
        node = next((n for n in self.by_line.get(save.span.line, ()) if self.source.span_of(n) == save.span), None)
        if node is None:
            return False
        if self.consumed_without_grad(node):
            return True
        parent = self.parents.get(node)
        if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1 \
                and isinstance(parent.targets[0], ast.Name):
            uses = self.loads.get(parent.targets[0].id, [])
            return bool(uses) and all(self.consumed_without_grad(u) for u in uses)
        return False

    def consumed_without_grad(self, node: ast.AST) -> bool:
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            if parent.attr in _SHAPE_ATTRIBUTES:
                return True
            call = self.parents.get(parent)
            return isinstance(call, ast.Call) and call.func is parent and parent.attr in NO_GRAD_CONSUMERS
        if isinstance(parent, ast.Call) and node in parent.args:
            name = dotted(parent.func) or ""
            return name.startswith(("torch.", "th.")) and name.rsplit(".", 1)[-1] in NO_GRAD_CONSUMERS
        if isinstance(parent, ast.Compare):
            return True
        if isinstance(parent, ast.Subscript) and parent.slice is node:
            return True  # used as an index
        return False
