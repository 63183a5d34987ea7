"""Finding the LibCST node that a span from the ``ast``-based analysis refers to.

The analysis reports character spans that exclude a node's own parentheses; LibCST's
``PositionProvider`` uses the same convention, so a span identifies a node exactly (up to nesting:
``x`` and ``x.add_`` both start where ``x`` starts, so lookups also name the node type).

Cost: a ``NodeIndex`` is built with **one** code generation over the module, which yields every
node's position, every node's parent and the module's text at once (LibCST's own
``MetadataWrapper`` walks the module once per provider, and the batched walk for the parents
costs more than the positions).  The fix loop builds the index for the round's module and the
pass reuses it (``NodeIndex.of``).  Scopes (``scope_of``) are resolved only over the function or
class a fix lies in, once per definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import libcst as cst
from gradsafe.findings import Span
from libcst import BatchableCSTVisitor
from libcst.metadata import CodeRange, ExpressionContextProvider, MetadataWrapper, PositionProvider, ScopeProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState
from libcst.metadata.scope_provider import Scope

N = TypeVar("N", bound=cst.CSTNode)


def span_of_range(r: CodeRange) -> Span:
    return Span(r.start.line, r.start.column, r.end.line, r.end.column)


def _cached_visitors(self: BatchableCSTVisitor) -> Mapping[str, Callable[[cst.CSTNode], None]]:
    """``get_visitors`` with the method names found once per class.

    LibCST finds a batchable visitor's ``visit_*``/``leave_*`` methods with ``inspect.getmembers``
    over its hundreds of attributes on every run, which costs more than resolving the scopes of a
    small function.  The names depend only on the class; the bound methods are this instance's.
    """
    names = _VISITOR_NAMES.get(type(self))
    if names is None:
        names = _VISITOR_NAMES[type(self)] = tuple(BatchableCSTVisitor.get_visitors(self))
    return {name: getattr(self, name) for name in names}


_VISITOR_NAMES: dict[type, tuple[str, ...]] = {}
for _provider in (ScopeProvider, ExpressionContextProvider):  # what ``scope_of`` resolves
    if "get_visitors" not in vars(_provider):
        _provider.get_visitors = _cached_visitors  # type: ignore[method-assign]


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
        self._scopes: dict[cst.CSTNode, dict[cst.CSTNode, Scope | None]] = {}
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

    def scope_of(self, node: cst.CSTNode) -> Scope | None:
        """LibCST's ``ScopeProvider`` scope of the statement ``node``, resolved over as little as it takes.

        A statement's scope is that of the innermost function or class around it, or the module's.
        Such a ``def``/``class`` holds every assignment and ``global``/``nonlocal`` declaration
        that shapes its scope, so the scopes are resolved over a module holding that one
        definition (a statement outside any is resolved over its own top-level statement: it is in
        the global scope either way), once per definition.
        """
        unit = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)) or ancestor is self.module:
                break
            unit = ancestor
        else:
            return None
        if ancestor is not self.module:
            unit = ancestor
        scopes = self._scopes.get(unit)
        if scopes is None:
            if not isinstance(unit, cst.BaseStatement):
                return None
            alone = self.module.with_changes(body=[unit], header=[], footer=[])
            wrapper = MetadataWrapper(alone, unsafe_skip_copy=True)
            scopes = dict(wrapper.resolve(ScopeProvider))
            self._scopes[unit] = scopes
        return scopes.get(node)
