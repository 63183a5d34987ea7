"""``gradsafe.transforms.bindings`` against LibCST's ``ScopeProvider``, which it replaces in the fix path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import FunctionScope, MetadataWrapper, ScopeProvider

from gradsafe.transforms.bindings import ScopeKind, enclosing_scope, own_bindings

REPO = Path(__file__).resolve().parents[2]


def _reference_locals(module: cst.Module) -> dict[cst.FunctionDef, set[str]]:
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    found = {}
    for node in scopes:
        if isinstance(node, cst.FunctionDef):
            scope = scopes.get(node.body)
            if isinstance(scope, FunctionScope):
                # LibCST names `import a.b` "a.b"; the name it binds is `a`.
                found[node] = {a.name.split(".")[0] for a in scope.assignments if a.scope is scope}
    return found


def _functions(source: str) -> dict[str, frozenset[str]]:
    module = cst.parse_module(textwrap.dedent(source))
    functions = [n for n in _reference_locals(module)]
    return {f.name.value: own_bindings(f) for f in functions}


def test_every_binding_construct() -> None:
    found = _functions(
        """
        import os.path, sys as system
        from math import pi, tau as turn
        def f(a, /, b, *args, c, **kwargs):
            global g
            d = e, [h, *i] = 1, [2, 3]
            j += 1
            k: int
            for l, m in []: pass
            with open(a) as n, open(b) as (o, p): pass
            try: pass
            except E as q: pass
            del r
            def s(t=(u := 1)): v = 1
            class W(x := object): y = 1
            [z for z0 in [] if (z1 := z0)]
            lambda lam: lam
            import os.path
            from m import *
            g = 1
            match a:
                case [m1, *m2]: pass
                case {"k": m3, **m4}: pass
                case C(m5) as m6: pass
            obj.attr = 1
            sub[0] = 1
        """
    )
    assert found["f"] == {
        "a", "b", "args", "c", "kwargs", "d", "e", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
        "r", "s", "u", "W", "x", "z1", "os", "m1", "m2", "m3", "m4", "m5", "m6",
    }
    assert found["s"] == {"t", "v"}


def test_nonlocal_names_are_not_local() -> None:
    found = _functions(
        """
        def outer():
            x = 1
            def inner():
                nonlocal x
                x = 2
            return inner
        """
    )
    assert found == {"outer": {"x", "inner"}, "inner": frozenset()}


@pytest.mark.parametrize(
    ("source", "kind"),
    [("y = 1\n", ScopeKind.MODULE), ("class C:\n    y = 1\n", ScopeKind.CLASS),
     ("def f():\n    y = 1\n", ScopeKind.FUNCTION), ("class C:\n    def f(self):\n        y = 1\n", ScopeKind.FUNCTION)],
)
def test_enclosing_scope(source: str, kind: ScopeKind) -> None:
    module = cst.parse_module(source)
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    pending: list[cst.CSTNode] = [module]
    target = None
    while pending:
        node = pending.pop()
        for child in node.children:
            parents[child] = node
            pending.append(child)
        if isinstance(node, cst.Assign):
            target = node
    chain = []
    current = parents.get(target)  # type: ignore[arg-type]
    while current is not None:
        chain.append(current)
        current = parents.get(current)
    assert enclosing_scope(chain)[0] is kind


def test_agrees_with_libcst_on_the_package_sources() -> None:
    """Every function of gradsafe's own code and test fixtures: the same locals as ScopeProvider."""
    files = sorted((*REPO.joinpath("transforms").rglob("*.py"), *REPO.joinpath("codemod", "analysis").rglob("*.py"),
                    *REPO.joinpath("tests", "fixtures").rglob("*.py")))
    checked = 0
    for path in files:
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except (cst.ParserSyntaxError, UnicodeDecodeError):
            continue
        for function, expected in _reference_locals(module).items():
            assert set(own_bindings(function)) == expected, f"{path}: {function.name.value}"
            checked += 1
    assert checked > 300
