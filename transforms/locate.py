"""Finding the LibCST node that a span from the ``ast``-based analysis refers to.

The analysis reports character spans that exclude a node's own parentheses; LibCST's
``PositionProvider`` uses the same convention, so a span identifies a node exactly (up to nesting:
``x`` and ``x.add_`` both start where ``x`` starts, so lookups also name the node type).
"""

from __future__ import annotations

from typing import Iterable, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, ParentNodeProvider, PositionProvider

from gradsafe.findings import Span

N = TypeVar("N", bound=cst.CSTNode)


def span_of_range(r: CodeRange) -> Span:
    return Span(r.start.line, r.start.column, r.end.line, r.end.column)


class NodeIndex:
    """Positions and parents of every node of one module, computed once per pass run."""

    def __init__(self, module: cst.Module) -> None:
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.parents = self.wrapper.resolve(ParentNodeProvider)
        self._by_span: dict[Span, list[cst.CSTNode]] = {}
        for node, r in self.positions.items():
            self._by_span.setdefault(span_of_range(r), []).append(node)

    def span(self, node: cst.CSTNode) -> Span:
        return span_of_range(self.positions[node])

    def find(self, span: Span, kind: type[N] | tuple[type, ...]) -> N | None:
        """The node of type ``kind`` whose span is exactly ``span``."""
        for node in self._by_span.get(span, ()):
            if isinstance(node, kind):
                return node  # type: ignore[return-value]
        return None

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterable[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def enclosing_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The nearest simple or compound statement that contains ``node`` (or is it)."""
        current: cst.CSTNode | None = node
        while current is not None:
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return current
            current = self.parents.get(current)
        return None
