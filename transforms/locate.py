"""Finding the LibCST node that a span from the ``ast``-based analysis refers to.

The analysis reports character spans that exclude a node's own parentheses; LibCST's
``PositionProvider`` uses the same convention, so a span identifies a node exactly (up to nesting:
``x`` and ``x.add_`` both start where ``x`` starts, so lookups also name the node type).

Cost: a ``NodeIndex`` is built with **one** code generation over the module, which yields every
node's position, every node's parent and the module's text at once (LibCST's own
``MetadataWrapper`` walks the module once per provider, and the batched walk for the parents
costs more than the positions).  The fix loop builds the index for the round's module and the
pass reuses it (``NodeIndex.of``).  Which names a scope binds is ``gradsafe.transforms.bindings``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

import libcst as cst
from gradsafe.findings import Span
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

N = TypeVar("N", bound=cst.CSTNode)


def span_of_range(r: CodeRange) -> Span:
    return Span(r.start.line, r.start.column, r.end.line, r.end.column)


class _IndexingState(PositionProvidingCodegenState):
    """LibCST's position-recording code generation, also noting each node's parent."""

    def __init__(self, module: cst.Module, provider: PositionProvider) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline, provider=provider)
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.open: list[cst.CSTNode] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        if self.open:
            self.parents[node] = self.open[-1]
        self.open.append(node)
        super().before_codegen(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        self.open.pop()
        super().after_codegen(node)


class NodeIndex:
    """Positions and parents of every node of one module, computed once per module."""

    _last: tuple[cst.Module, NodeIndex] | None = None

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        provider = PositionProvider()
        state = _IndexingState(module, provider)
        module._codegen(state)
        self.code = "".join(state.tokens)  # what ``module.code`` returns, without a second walk
        self.positions: Mapping[cst.CSTNode, CodeRange] = provider._computed  # type: ignore[assignment]
        self.parents: dict[cst.CSTNode, cst.CSTNode] = state.parents
        self._by_span: dict[Span, list[cst.CSTNode]] = {}
        for node, r in self.positions.items():
            self._by_span.setdefault(span_of_range(r), []).append(node)
        NodeIndex._last = (module, self)

    @classmethod
    def of(cls, module: cst.Module) -> NodeIndex:
        """The index of ``module``: the one last built when it was for this very module."""
        last = cls._last
        if last is not None and last[0] is module:
            return last[1]
        return cls(module)

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
