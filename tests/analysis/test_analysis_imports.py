"""The analysis core imports in one direction: no module of it takes part in an import cycle.

Read off the source with ``ast`` (every import counts: module-level, function-level and the ones
under ``TYPE_CHECKING``), so a cycle that only a lazy import hides still fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "codemod"
# The modules of the analysis core: the file context, names, values and the interpreter package.
CORE = ("analysis.context", "analysis.names", "analysis.liveness", "analysis.values", "analysis.mutations",
        "analysis.optable", "analysis.interpreter")


def _modules() -> dict[str, Path]:
    found = {}
    for path in ENGINE.rglob("*.py"):
        parts = list(path.relative_to(ENGINE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(["gradsafe", *parts])] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out & modules.keys()


def _reachable(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(graph[start])
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(graph[name])
    return seen


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def _core_modules(graph: dict[str, set[str]]) -> list[str]:
    names = [n for n in graph if any(n == f"gradsafe.{c}" or n.startswith(f"gradsafe.{c}.") for c in CORE)]
    assert len(names) >= 10, names  # the interpreter package's modules are found
    return sorted(names)


def test_no_core_module_is_in_an_import_cycle(graph) -> None:
    cyclic = [name for name in _core_modules(graph) if name in _reachable(name, graph)]
    assert not cyclic


def test_the_file_context_does_not_know_the_interpreter(graph) -> None:
    assert not any(n.startswith("gradsafe.analysis.interpreter") for n in _reachable("gradsafe.analysis.context", graph))


def test_the_cycle_check_sees_a_cycle() -> None:
    """The check has teeth: two modules importing each other are found."""
    toy = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert "a" in _reachable("a", toy) and "c" not in _reachable("c", toy)
