"""Start the verification worker from gradsafe's files, in any interpreter that has torch.

The supervisor runs ``python <this file> <package dir> <worker arguments>``.  Running a file puts
its folder first on ``sys.path``; that entry is removed before anything else, so a user module
named like a worker module (``verifier.py``, ``session.py``) is never shadowed by gradsafe's own.
The package is then loaded from ``<package dir>`` under the name ``gradsafe`` (so the worker needs
gradsafe neither installed nor importable in that interpreter, and a ``gradsafe_*.py``,
``codemod.py`` or ``transforms.py`` of the user's cannot stand in for it), and the worker's
``__main__`` runs.  Standard library only.
"""

import importlib.util
import os
import runpy
import sys


def _load_package(directory: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "gradsafe", os.path.join(directory, "__init__.py"), submodule_search_locations=[directory]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"gradsafe's verification worker: no package at {directory}")
    package = importlib.util.module_from_spec(spec)
    sys.modules["gradsafe"] = package
    spec.loader.exec_module(package)


def main() -> None:
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or os.curdir) != here]
    _load_package(sys.argv[1])
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    runpy.run_module("gradsafe.verify.worker", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
