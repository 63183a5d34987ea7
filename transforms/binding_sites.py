"""Where a written value sits, for the passes that rebind it: in a loop, a comprehension, a lambda,
a class body; whether a name is a local variable of its function or an argument of a function
that returns nothing; a function's parameters and its own nodes (nested definitions left out)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.syntax import walk
from gradsafe.transforms.bindings import ScopeKind, enclosing_scope, own_bindings

# ---------------------------------------------------------------------- where a value sits
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Module)
_LOOPS = (cst.For, cst.While)


@dataclass
class Site:
    """Where an expression is evaluated, as far as binding a name there is concerned."""

    statement: cst.CSTNode  # the small statement, or the compound statement whose header holds it
    scope: cst.CSTNode  # the enclosing FunctionDef, ClassDef or Module
    problem: str | None = None  # nothing can be bound here
    repeated: bool = False  # a loop, a comprehension or a `while` test evaluates it again
    in_lambda: bool = False
    in_comprehension: bool = False
    in_iterable: bool = False  # a comprehension's iterable: `:=` is a syntax error there
    comprehension_targets: set[str] = field(default_factory=set)


def site_of(index: NodeIndex, expr: cst.CSTNode) -> Site:
    node = expr
    in_lambda = in_comprehension = in_iterable = repeated = False
    targets: set[str] = set()
    outer_iter_of: cst.CSTNode | None = None
    problem = None
    while True:
        parent = index.parent(node)
        assert parent is not None, "an expression always sits in a statement"
        if isinstance(parent, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            break
        if isinstance(parent, cst.Lambda):
            in_lambda = True
        elif isinstance(parent, cst.CompFor) and node is parent.iter:
            in_iterable = True
            outer_iter_of = parent
        elif isinstance(parent, _COMPREHENSIONS):
            if outer_iter_of is not parent.for_in:
                # Everything but the first iterable runs once per element, in the comprehension's scope.
                in_comprehension = repeated = True
                targets |= _comprehension_targets(parent)
            outer_iter_of = None
        elif isinstance(parent, cst.Decorator):
            problem = "the write is in a decorator"
        node = parent
    statement = parent
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        problem = problem or "the write is in a `def`/`class` header"
    if isinstance(statement, cst.While) and node is statement.test:
        repeated = True
    scope = statement
    while not isinstance(scope, _SCOPES) or scope is statement:
        if isinstance(scope, _LOOPS) and scope is not statement:
            repeated = True
        scope = index.parent(scope)  # type: ignore[assignment]
    return Site(statement, scope, problem, repeated, in_lambda, in_comprehension, in_iterable, targets)


def _comprehension_targets(comprehension: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    for_in: cst.CompFor | None = comprehension.for_in  # type: ignore[attr-defined]
    while for_in is not None:
        names |= {n.value for n in walk(for_in.target) if isinstance(n, cst.Name)}
        for_in = for_in.inner_for_in
    return names


def locality_problem(index: NodeIndex, statement: cst.CSTNode, name: str) -> str | None:
    """Why code at ``statement`` cannot rebind ``name`` without changing which variable it means.

    Attributes can always be assigned.  A plain name must be a local variable (or parameter) of
    the enclosing function, or module-level code: assigning a closure variable or a global inside
    a function makes it local, and the code before the write would fail.
    """
    if "." in name:
        return None
    kind, function = enclosing_scope(index.ancestors(statement))
    if kind is ScopeKind.CLASS:
        return f"`{name}` would be bound in a class body"
    if function is not None and name not in own_bindings(function):
        return f"`{name}` is not a local variable here; assigning it would make it one"
    return None


# ---------------------------------------------------------------------- functions and their arguments
def argument_problem(index: NodeIndex, node: cst.CSTNode, name: str | None) -> str | None:
    """A function that returns nothing shows its callers the write only through their argument.

    Rebinding the parameter would make the call do nothing for them (the helper-return fix
    changes the callers too).
    """
    function = next((a for a in index.ancestors(node) if isinstance(a, (cst.FunctionDef, cst.Lambda))), None)
    if name is None or "." in name or not isinstance(function, cst.FunctionDef):
        return None
    if name not in parameter_names(function):
        return None
    if any(isinstance(n, cst.Return) and n.value is not None for n in own_nodes(function)):
        return None
    return (f"`{name}` is an argument of `{function.name.value}()`, which returns nothing: its callers see the write "
            "only through their tensor")


def parameter_names(function: cst.FunctionDef) -> set[str]:
    """The names ``function`` binds as parameters (``*args`` and ``**kwargs`` hold other objects)."""
    params = function.params
    return {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}


def own_nodes(function: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """The nodes of ``function``'s body that run in its own scope (not in nested functions or classes)."""
    pending: list[cst.CSTNode] = [function.body]
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            pending.extend(reversed(node.children))
