"""Code as the source spells it, for messages: ``1e-6`` stays ``1e-6`` (``ast.unparse`` says ``1e-06``).

Messages quote the code they are about (`` `y.add_(1e-6)` ``).  ``ast.unparse`` re-renders the
literals from their values, so ``1e-6`` became ``1e-06``, ``0x10`` ``16`` and ``1_000`` ``1000``:
text the user never wrote.  ``unparse`` here renders a node as ``ast.unparse`` does, except that a
literal written on one line is quoted from the source of the file being analysed, which
``analyse`` names with ``quoting(source)`` for the time of the analysis.  Without a source (a
node built by the analysis, or outside ``quoting``) it is ``ast.unparse``.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from gradsafe.files.source import SourceFile

_SOURCE: ContextVar[SourceFile | None] = ContextVar("gradsafe_quoted_source", default=None)


@contextlib.contextmanager
def quoting(source: SourceFile) -> Iterator[None]:
    """Render literals from ``source`` while the block runs."""
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def literal_text(node: ast.Constant, source: SourceFile) -> str | None:
    """The source text of a one-line literal, or None when the positions do not give one."""
    line, end_line = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
    col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
    if line is None or line != end_line or col is None or end_col is None:
        return None
    lines = source.lines
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1].encode("utf-8")[col:end_col].decode("utf-8", errors="replace")
    try:  # the positions must hold this very literal
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text if type(value) is type(node.value) and value == node.value else None


class _Unparser(ast._Unparser):  # type: ignore[name-defined,misc]
    # `ast._Unparser` builds instances of its own class for the parts of an f-string
    # (`_avoid_backslashes=True`); those get no source and render as `ast.unparse` does.
    def __init__(self, source: SourceFile | None = None, **options: bool) -> None:
        super().__init__(**options)
        self._quoted = source

    def visit_Constant(self, node: ast.Constant) -> None:
        quotable = self._quoted is not None and isinstance(node.value, (int, float, complex, str, bytes))
        text = literal_text(node, self._quoted) if quotable and self._quoted is not None else None
        if text is None:
            super().visit_Constant(node)
        else:
            self.write(text)


def unparse(node: ast.AST) -> str:
    """``ast.unparse(node)``, with literals as the source being analysed spells them."""
    source = _SOURCE.get()
    if source is None:
        return ast.unparse(node)
    return str(_Unparser(source).visit(node))
