"""Resolving names to canonical torch API names, whatever the import aliases.

``import torch.nn.functional as F`` then ``F.relu`` -> ``torch.nn.functional.relu``;
``from torch import nn`` then ``nn.ReLU`` -> ``torch.nn.ReLU``;
``from torch.nn.modules.activation import ReLU`` -> ``torch.nn.ReLU``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

# Public aliases that point at the same objects; the op table is keyed by the left-hand form.
_CANONICAL_PREFIXES = (
    ("torch.nn.modules.", "torch.nn."),
    ("torch.functional.", "torch."),
    ("torch._C._nn.", "torch.nn.functional."),
    ("torch._C._VariableFunctions.", "torch."),
    ("torch.autograd.grad_mode.", "torch."),
)


def canonical(name: str) -> str:
    """Map implementation paths to the public spelling the op table uses."""
    for prefix, replacement in _CANONICAL_PREFIXES:
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if prefix == "torch.nn.modules.":
                # torch.nn.modules.activation.ReLU -> torch.nn.ReLU
                rest = rest.rsplit(".", 1)[-1]
            return replacement + rest
    return name


class ImportMap:
    """What each imported local name stands for, e.g. ``{"F": "torch.nn.functional"}``.

    Built from every import in a module (function-level imports included: an alias imported in one
    function is rarely rebound to something else in another).
    """

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    @classmethod
    def from_module(cls, tree: ast.Module) -> ImportMap:
        imports = cls()
        imports.add_all(n for n in statements(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
        return imports

    def add_all(self, nodes: Iterable[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".", 1)[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def resolve(self, node: ast.expr) -> str | None:
        """The canonical dotted name of a ``Name``/``Attribute`` chain rooted at an import."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        root = self.aliases.get(node.id)
        if root is None:
            return None
        parts.append(root)
        return canonical(".".join(reversed(parts)))


def resolve_text(imports: ImportMap, text: str) -> str | None:
    """``resolve`` for a dotted name given as text ("F.relu")."""
    root, _, rest = text.partition(".")
    base = imports.aliases.get(root)
    if base is None:
        return None
    return canonical(f"{base}.{rest}" if rest else base)


def dotted(node: ast.AST) -> str | None:
    """``self.fc.weight`` -> "self.fc.weight"; None for anything but a Name/Attribute chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def statements(tree: ast.AST) -> Iterable[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions (imports are statements)."""
    pending: list[ast.stmt] = list(getattr(tree, "body", []))
    while pending:
        stmt = pending.pop()
        yield stmt
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if block:
                pending.extend(block)
        for handler in getattr(stmt, "handlers", ()):
            pending.extend(handler.body)
        for case in getattr(stmt, "cases", ()):
            pending.extend(case.body)
