"""Running a scenario: import a module or file inside the traced process and call one function.

``gradsafe trace --scenario mod:fn`` and ``--scenario path/to/file.py:fn`` start
``python -c "...scenario.main()" SPEC ROOT``.  A module is imported with the project root first
on ``sys.path``; a file is imported under its own name with its directory first on ``sys.path``,
as ``python file.py`` would, but without running it as ``__main__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def parse(spec: str) -> tuple[str, str]:
    """``"pkg.mod:fn"`` -> ``("pkg.mod", "fn")``; the last colon splits, so Windows paths work."""
    target, sep, function = spec.rpartition(":")
    if not sep or not target or not function.isidentifier():
        raise ValueError(f"a scenario is 'module:function' or 'path.py:function', not {spec!r}")
    return target, function


def load(target: str, root: str) -> ModuleType:
    if target.endswith(".py"):
        path = Path(target).resolve()
        sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    sys.path.insert(0, root)
    return importlib.import_module(target)


def main() -> None:
    spec, root = sys.argv[1], sys.argv[2]
    target, function = parse(spec)
    getattr(load(target, root), function)()


if __name__ == "__main__":
    main()
