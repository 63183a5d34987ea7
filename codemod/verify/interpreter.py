"""Which Python interpreter runs the verification worker: the project's, so its imports resolve.

In order: ``--python`` / ``[tool.gradsafe.verify] python`` (an interpreter, or a virtualenv's
directory), the active virtualenv (``VIRTUAL_ENV``), a ``.venv`` or ``venv`` in the project root,
and last gradsafe's own interpreter.  The worker is started from gradsafe's files
(``worker/boot.py``), so that interpreter needs torch but neither gradsafe nor its dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OWN = "gradsafe's own interpreter"


@dataclass(frozen=True)
class Interpreter:
    """An interpreter to run the worker with, and where the choice came from (for messages)."""

    executable: str
    source: str

    @property
    def is_own(self) -> bool:
        return os.path.abspath(self.executable) == os.path.abspath(sys.executable)

    def describe(self) -> str:
        return f"{self.executable} ({self.source})"


class InterpreterNotFound(ValueError):
    """The configured interpreter does not exist."""


def _in_environment(directory: Path) -> Path | None:
    for candidate in (directory / "bin" / "python", directory / "Scripts" / "python.exe"):
        if candidate.is_file():
            return candidate
    return None


def find_interpreter(configured: str | None, root: Path, environ: Mapping[str, str] | None = None) -> Interpreter:
    """The interpreter for the worker (see the module's docstring); relative paths are from ``root``."""
    environ = os.environ if environ is None else environ
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute():
            path = root / path
        found = _in_environment(path) if path.is_dir() else path if path.is_file() else None
        if found is None:
            raise InterpreterNotFound(f"the verification interpreter '{configured}' does not exist")
        return Interpreter(str(found.absolute()), "--python / [tool.gradsafe.verify] python")
    active = environ.get("VIRTUAL_ENV")
    if active:
        found = _in_environment(Path(active))
        if found is not None:
            return Interpreter(str(found), "the active virtualenv, VIRTUAL_ENV")
    for name in (".venv", "venv"):
        found = _in_environment(root / name)
        if found is not None:
            return Interpreter(str(found.absolute()), f"the project's {name}")
    return Interpreter(sys.executable, OWN)


def has_torch(interpreter: Interpreter) -> bool:
    """Whether ``interpreter`` can import torch (without importing it there)."""
    if interpreter.is_own:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    try:
        completed = subprocess.run(
            [interpreter.executable, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0
