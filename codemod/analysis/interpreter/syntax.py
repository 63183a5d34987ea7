"""Small facts read off the syntax tree: literal flags, ``.grad`` reads, short labels, op display names."""

from __future__ import annotations

import ast

from gradsafe.analysis.interpreter.tables import DUNDER_SYMBOLS
from gradsafe.analysis.names import dotted
from gradsafe.analysis.optable import OpInfo
from gradsafe.analysis.source_text import unparse
from gradsafe.findings import Span


class SpanNode(ast.AST):
    """A stand-in node carrying only a span (for layers inside nn.Sequential)."""

    def __init__(self, span: Span) -> None:
        super().__init__()
        self.lineno, self.col_offset, self.end_lineno, self.end_col_offset = span.line, span.col, span.end_line, span.end_col


def truthy(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value) is True


def flag_passed_positionally(node: ast.Call, position: int | None) -> bool:
    """Is the argument at ``position`` (the op table's ``inplace_position``) a literal ``True``?

    ``nn.ReLU(True)``, ``nn.LeakyReLU(0.2, True)``: old code passes the flag without its keyword.
    A ``*args`` at or before the position hides which argument lands there.
    """
    if position is None or position >= len(node.args):
        return False
    if any(isinstance(a, ast.Starred) for a in node.args[: position + 1]):
        return False
    arg = node.args[position]
    return isinstance(arg, ast.Constant) and arg.value is True


def reads_grad_of(node: ast.AST, name: str) -> bool:
    """Does ``node`` read ``<name>.grad``?"""
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" and dotted(n.value) == name for n in ast.walk(node))


def mentions_grad(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node))


def short_text(node: ast.AST) -> str:
    text = unparse(node) if isinstance(node, ast.AST) and not isinstance(node, SpanNode) else "..."
    return text if len(text) <= 50 else text[:47] + "..."


def display_op(name: str) -> str:
    short = name.rsplit(".", 1)[-1]
    if name.startswith("torch.nn.") and short[:1].isupper():
        return "nn." + short
    if short.startswith("__"):
        return DUNDER_SYMBOLS.get(short, short)
    return f"{short}()"


def literal_kinds(info: OpInfo, node: ast.Call) -> dict[str, object]:
    """`True`/`False`/`None` literals passed to an op, by parameter (they select op-table variants)."""
    out: dict[str, object] = {}
    params = [p for p in info.params if p != "self"] if isinstance(node.func, ast.Attribute) and info.kind == "method" else list(info.params)
    pairs = list(zip(params, node.args)) + [(k.arg, k.value) for k in node.keywords if k.arg]
    for name, value in pairs:
        if isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, bool)):
            out[name] = value.value
    return out

