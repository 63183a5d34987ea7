"""How gradsafe names files: relative to the working directory, with forward slashes.

Every report, diff header and config pattern sees the same spelling of a path, so output is
identical across runs and platforms, and sorting by path is sorting by these names' components.
"""

from __future__ import annotations

import os
from pathlib import Path

STDIN = "-"


def display_path(path: Path, cwd: Path | None = None) -> str:
    """``path`` relative to ``cwd`` (default: the working directory) when it lies below it, else absolute."""
    base = Path.cwd() if cwd is None else cwd
    absolute = path if path.is_absolute() else base / path
    absolute = Path(os.path.normpath(absolute))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def path_sort_key(display: str) -> tuple[str, ...]:
    """Order paths component by component (``a/b.py`` before ``a-b/c.py``), like a directory walk."""
    return tuple(display.split("/"))
