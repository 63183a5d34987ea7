"""Which scope a statement runs in, and the names that scope binds: Python's rules, read off LibCST.

A rewrite that rebinds a name (``y = y.mul(2)``) must not change which variable the name means.
Inside a function that is the case only if the function already binds the name (a parameter, an
assignment, a loop target, ...) without declaring it ``global`` or ``nonlocal``.

LibCST's ``ScopeProvider`` answers this too, but it resolves every access and assignment of the
unit it is given (about 10 ms for a ten-line method, more than parsing the whole file), and the fix
loop asks once per fix.  The question needs far less: the names the innermost function binds in
its own scope.  ``own_bindings`` collects them in one walk of that function, following the
language reference's list of binding constructs ("Naming and binding"); nested functions, classes,
lambdas and comprehensions have scopes of their own and are skipped, except for an assignment
expression in a comprehension, which binds in the enclosing function.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator

import libcst as cst


class ScopeKind(enum.Enum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"


def enclosing_scope(ancestors: Iterable[cst.CSTNode]) -> tuple[ScopeKind, cst.FunctionDef | None]:
    """The kind of scope of a statement with these ``ancestors`` (innermost first) and its function."""
    for ancestor in ancestors:
        if isinstance(ancestor, cst.FunctionDef):
            return ScopeKind.FUNCTION, ancestor
        if isinstance(ancestor, cst.ClassDef):
            return ScopeKind.CLASS, None
    return ScopeKind.MODULE, None


def own_bindings(function: cst.FunctionDef) -> frozenset[str]:
    """The names local to ``function``: bound in its own scope and not declared global/nonlocal."""
    bound = set(_parameter_names(function.params))
    declared: set[str] = set()
    for node in _own_scope_nodes(function.body):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            declared.update(item.name.value for item in node.names)
        else:
            bound.update(_bound_by(node))
    return frozenset(bound - declared)


def _parameter_names(params: cst.Parameters) -> Iterator[str]:
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        yield param.name.value
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            yield star.name.value


def _own_scope_nodes(body: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node that runs in the scope whose body is ``body``.

    A nested ``def``/``class`` binds its own name here (and its decorators, defaults and bases run
    here), but not its body; a lambda or comprehension runs in a scope of its own, where only an
    assignment expression binds in ours.
    """
    pending: list[cst.CSTNode] = [body]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, cst.FunctionDef):
            pending.extend(d.decorator for d in node.decorators)
            pending.extend(p.default for p in _all_params(node.params) if p.default is not None)
        elif isinstance(node, cst.ClassDef):
            pending.extend(d.decorator for d in node.decorators)
            pending.extend(arg.value for arg in (*node.bases, *node.keywords))
        elif isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            pending.extend(n for n in _walk(node) if isinstance(n, cst.NamedExpr))
        else:
            pending.extend(_children(node))


def _all_params(params: cst.Parameters) -> Iterator[cst.Param]:
    yield from (*params.posonly_params, *params.params, *params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            yield star


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(_children(current))


_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node.children`` in any order, read off the node's fields (LibCST's property runs a visitor
    per call and costs several times more)."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    for name in names:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            yield from (item for item in value if isinstance(item, cst.CSTNode))


def _bound_by(node: cst.CSTNode) -> Iterator[str]:
    """The names the construct ``node`` binds in the scope it runs in."""
    if isinstance(node, cst.Assign):
        for target in node.targets:
            yield from _target_names(target.target)
    elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        yield from _target_names(node.target)
    elif isinstance(node, cst.NamedExpr):
        yield from _target_names(node.target)
    elif isinstance(node, cst.For):
        yield from _target_names(node.target)
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        yield from _target_names(node.asname.name)
    elif isinstance(node, cst.ExceptHandler) and node.name is not None:
        yield from _target_names(node.name.name)
    elif isinstance(node, cst.Del):
        yield from _target_names(node.target)
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        yield node.name.value
    elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
        for alias in node.names:
            if alias.asname is not None:
                yield from _target_names(alias.asname.name)
            else:
                yield _first_component(alias.name)
    elif isinstance(node, cst.MatchAs) and node.name is not None:
        yield node.name.value
    elif isinstance(node, cst.MatchStar) and node.name is not None:
        yield node.name.value
    elif isinstance(node, cst.MatchMapping) and node.rest is not None:
        yield node.rest.value


def _target_names(target: cst.BaseExpression) -> Iterator[str]:
    """The plain names an assignment target binds (attributes and subscripts bind none)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _first_component(name: cst.BaseExpression) -> str:
    while isinstance(name, cst.Attribute):
        name = name.value
    assert isinstance(name, cst.Name)
    return name.value
