"""The project's own pytest tests as verification scenarios, found without running anything.

Test files are those of the project's pytest configuration (``testpaths`` in ``pyproject.toml``'s
``[tool.pytest.ini_options]``, ``pytest.ini``, ``tox.ini`` or ``setup.cfg``), else under ``tests/``:
``test_*.py`` and ``*_test.py``.  A test becomes a scenario (``tests/test_model.py:test_step``)
when it can be called as one, a module-level ``def test_*()`` without parameters (fixtures and
parametrized tests are left out), and a static pre-filter says it can reach a rewritten function:
its file imports the rewritten file's module and names the function (or, for a method, its
class), directly or through that module's own functions and classes (a call graph within it).  Only these tests are run, in the sandbox, as any scenario is; no other code of the
project is ever run (besides the configured scenarios and examples).
"""

from __future__ import annotations

import ast
import configparser
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10, as in gradsafe.settings.config
    import tomli as tomllib

MAX_TESTS = 50  # per verification run: the pre-filter is generous, the run must stay short
_SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"})


def collection_paths(root: Path) -> list[Path]:
    """The directories (or files) pytest would collect from in ``root``, by its configuration."""
    configured = _configured_testpaths(root)
    if configured:
        return [root / p for p in configured if (root / p).exists()]
    return [root / "tests"] if (root / "tests").is_dir() else []


def _configured_testpaths(root: Path) -> list[str]:
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            options = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            options = {}
        paths = options.get("ini_options", {}).get("testpaths") if isinstance(options, dict) else None
        if isinstance(paths, str):
            return paths.split()
        if isinstance(paths, list):
            return [p for p in paths if isinstance(p, str)]
    for name, section in (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(root / name, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_option(section, "testpaths"):
            return parser.get(section, "testpaths").split()
    return []


def _test_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
            continue
        for candidate in sorted(path.rglob("*.py")):
            if _SKIPPED_DIRS.intersection(candidate.relative_to(path).parts[:-1]):
                continue
            if candidate.name.startswith("test_") or candidate.stem.endswith("_test"):
                found.append(candidate)
    return found


def module_names(path: Path) -> set[str]:
    """Names a test could import ``path`` by: its dotted package path and each of its tails."""
    parts = [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    return {".".join(parts[i:]) for i in range(len(parts))}


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _identifiers(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).rpartition(".")[2])
    return names


def _callable_tests(tree: ast.Module) -> list[str]:
    tests = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            arguments = node.args
            takes_arguments = bool(
                arguments.args or arguments.posonlyargs or arguments.kwonlyargs or arguments.vararg or arguments.kwarg
            )
            if not takes_arguments and not any(_is_parametrize(d) for d in node.decorator_list):
                tests.append(node.name)
    return tests


def _is_parametrize(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in {"parametrize", "usefixtures"}


def _wanted_name(qualname: str) -> str:
    """The name a test must mention to reach ``qualname``: a method's class, else the function."""
    head = qualname.split(".<locals>.", 1)[0]
    return head.split(".", 1)[0]


def _references(path: Path) -> dict[str, set[str]]:
    """For each top-level function and class of ``path``, the names its body mentions."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    references: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            references[node.name] = _identifiers(ast.Module(body=[node], type_ignores=[]))
    return references


def _reached(start: set[str], references: dict[str, set[str]]) -> set[str]:
    """Names reachable from ``start`` through the module's own functions and classes (a call graph)."""
    reached = set(start)
    pending = [name for name in start if name in references]
    while pending:
        for name in references[pending.pop()] - reached:
            reached.add(name)
            if name in references:
                pending.append(name)
    return reached


def discover_tests(root: Path, targets: Sequence[tuple[Path, str]]) -> list[str]:
    """Scenarios (``relative/path.py:test_name``) from the project's tests that may reach ``targets``."""
    root = root.resolve()
    wanted: dict[str, set[str]] = {}  # module name -> names to reach
    files: dict[str, Path] = {}
    for path, qualname in targets:
        for name in module_names(path.resolve()):
            wanted.setdefault(name, set()).add(_wanted_name(qualname))
            files[name] = path.resolve()
    references = {path: _references(path) for path in set(files.values())}
    scenarios: list[str] = []
    changed = set(files.values())
    for test_file in _test_files(collection_paths(root)):
        if test_file.resolve() in changed:
            continue
        try:
            tree = ast.parse(test_file.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        mentioned = _identifiers(tree)
        modules = [m for m in _imports(tree) if m in wanted]
        if not any(wanted[m] & _reached(mentioned, references[files[m]]) for m in modules):
            continue
        try:
            relative = test_file.resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        scenarios.extend(f"{relative}:{test}" for test in _callable_tests(tree))
        if len(scenarios) >= MAX_TESTS:
            return scenarios[:MAX_TESTS]
    return scenarios
