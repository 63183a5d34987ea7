"""What changed between an original file and its rewrite, in units that can be called and checked.

A *unit* is something verification can run on its own:

* a module-level function: ``"scale_"``;
* a method, with its class path: ``"Net.forward"``, ``"Outer.Inner.step"``;
* the body of a class outside its methods (class attributes, bases, decorators): ``"Net"``;
* the module's own statements outside functions and classes: ``"<module>"``.

A change inside a nested function or lambda belongs to the unit that contains it: a nested
function cannot be called from outside, so it is verified through its enclosing function.
Differences are structural (``ast``), so edits to comments and formatting are not changes, and an
import the rewrite adds (``import torch`` for a ``no_grad`` block) does not make ``<module>`` a
target.  Functions that exist in only one version are not targets: the callers that had to change
to use them are.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

MODULE_UNIT = "<module>"


@dataclass(frozen=True)
class FileChange:
    """One rewritten file: where it lives, both texts, and the units that differ.

    ``path`` is the real path of the user's file; it decides the module name and import paths the
    code sees while it is verified (nothing is written there).  ``targets`` are unit names as
    ``changed_functions`` returns them; leave it empty to have them computed.
    """

    path: Path
    original: str
    rewritten: str
    targets: tuple[str, ...] = field(default=())
    # Units whose rewrite holds an unsafe fix (`--unsafe-fixes`): it must change what they compute.
    unsafe: tuple[str, ...] = field(default=())

    def resolved_targets(self) -> tuple[str, ...]:
        return self.targets or tuple(changed_functions(self.original, self.rewritten))


def changed_functions(original: str, rewritten: str) -> list[str]:
    """Units whose code differs between the two texts, in the order they appear in ``rewritten``.

    Raises ``SyntaxError`` when either text does not parse.
    """
    before = _units(ast.parse(original))
    after = _units(ast.parse(rewritten))
    changed = [name for name, body in after.items() if name != MODULE_UNIT and name in before and before[name] != body]
    if _module_rest_changed(before[MODULE_UNIT], after[MODULE_UNIT]):
        changed.insert(0, MODULE_UNIT)
    return changed


def unit_at_line(source: str, line: int) -> str | None:
    """The unit whose code contains ``line`` of ``source`` (None when it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return _unit_at(tree.body, line, prefix="") or MODULE_UNIT


_Defs = (ast.FunctionDef, ast.AsyncFunctionDef)


def _units(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    """Each unit's structural dump.  ``<module>`` holds its statements one dump per statement."""
    units: dict[str, tuple[str, ...]] = {}
    rest: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, _Defs):
            _add(units, stmt.name, ast.dump(stmt))
        elif isinstance(stmt, ast.ClassDef):
            _class_units(stmt, stmt.name, units)
        else:
            rest.append(ast.dump(stmt))
    units[MODULE_UNIT] = tuple(rest)
    return units


def _class_units(node: ast.ClassDef, qualname: str, units: dict[str, tuple[str, ...]]) -> None:
    own = [*node.decorator_list, *node.bases, *node.keywords]
    own += [stmt for stmt in node.body if not isinstance(stmt, (*_Defs, ast.ClassDef))]
    _add(units, qualname, "\n".join(ast.dump(n) for n in own))
    for stmt in node.body:
        if isinstance(stmt, _Defs):
            _add(units, f"{qualname}.{stmt.name}", ast.dump(stmt))
        elif isinstance(stmt, ast.ClassDef):
            _class_units(stmt, f"{qualname}.{stmt.name}", units)


def _add(units: dict[str, tuple[str, ...]], name: str, dump: str) -> None:
    # A name defined twice (a redefinition) is one unit holding both definitions.
    units[name] = units.get(name, ()) + (dump,)


def _is_import(dump: str) -> bool:
    return dump.startswith(("Import(", "ImportFrom("))


def _module_rest_changed(before: tuple[str, ...], after: tuple[str, ...]) -> bool:
    """Module-level statements differ, ignoring imports that only the rewrite has."""
    kept_imports = set(before)
    trimmed = tuple(d for d in after if not (_is_import(d) and d not in kept_imports))
    return trimmed != before


def _unit_at(body: list[ast.stmt], line: int, prefix: str) -> str | None:
    for stmt in body:
        first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
        if not first <= line <= (stmt.end_lineno or stmt.lineno):
            continue
        if isinstance(stmt, _Defs):
            return prefix + stmt.name
        if isinstance(stmt, ast.ClassDef):
            qualname = prefix + stmt.name
            return _unit_at(stmt.body, line, qualname + ".") or qualname
        return None
    return None
