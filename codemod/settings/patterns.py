"""Path patterns in ``.gitignore`` syntax, anchored at a directory.

``exclude``, ``extend-exclude`` and ``per-file-ignores`` use the same syntax as ``.gitignore``
files (matched with pathspec's ``GitIgnoreSpec``), so users learn one language: ``build/``
matches a directory named build at any depth, ``/build/`` only the one at the project root,
``tests/**/conftest.py`` what it says, and ``!pattern`` re-includes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from collections.abc import Iterable

from pathspec import GitIgnoreSpec


def anchored_name(path: Path, root: Path, outside: Path | None = None) -> str:
    """The name a pattern anchored at ``root`` sees for ``path``.

    Below ``root`` that is the relative path.  A file outside the project (``gradsafe check
    /elsewhere/pkg`` run from a project) is named relative to ``outside`` (the directory being
    walked) when given, else by its file name: matching the absolute path would let an unanchored
    pattern like ``venv/`` exclude every file that happens to live below some ``venv`` directory.
    """
    absolute = os.path.normpath(os.path.abspath(path))
    # String operations rather than ``Path.relative_to``: this runs for every file and directory
    # walked, and pathlib's parsing was a third of a warm run's discovery.
    for base in (root, outside):
        if base is None:
            continue
        base_text = os.fspath(base)
        if os.path.normcase(absolute) == os.path.normcase(base_text):
            return "."
        prefix = base_text if base_text.endswith(os.sep) else base_text + os.sep
        if os.path.normcase(absolute).startswith(os.path.normcase(prefix)):
            return absolute[len(prefix) :].replace(os.sep, "/")
    return os.path.basename(absolute)


@dataclass(frozen=True)
class PathPatterns:
    """A list of gitignore-style patterns, relative to ``root``."""

    patterns: tuple[str, ...]
    root: Path

    @cached_property
    def spec(self) -> GitIgnoreSpec:
        return GitIgnoreSpec.from_lines(self.patterns)

    def decision(self, path: Path, *, is_dir: bool, outside: Path | None = None) -> bool | None:
        """True when the patterns match ``path``, False when a ``!`` pattern re-includes it, None when silent."""
        if not self.patterns:
            return None
        name = anchored_name(path, self.root, outside)
        if not name or name == ".":
            return None
        return self.spec.check_file(name + "/" if is_dir else name).include

    def matches(self, path: Path, *, is_dir: bool = False, outside: Path | None = None) -> bool:
        return self.decision(path, is_dir=is_dir, outside=outside) is True


def read_gitignore(directory: Path) -> PathPatterns | None:
    """The patterns of ``directory/.gitignore``, or None when there is none (or it cannot be read)."""
    try:
        lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return PathPatterns(tuple(lines), directory)


def first_decision(layers: Iterable[PathPatterns], path: Path, *, is_dir: bool) -> bool | None:
    """Git's precedence: the first layer (deepest ``.gitignore`` first) that has an opinion wins."""
    for layer in layers:
        decision = layer.decision(path, is_dir=is_dir)
        if decision is not None:
            return decision
    return None
