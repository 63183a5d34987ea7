"""From the paths on the command line to a sorted list of Python files.

Rules (the same as ruff's where ruff has one):

* A directory is walked recursively for ``*.py`` files, whatever its own name (a directory called
  ``x.py`` is walked, not read).  Directories matched by the ``exclude`` patterns, directories that
  hold a ``pyvenv.cfg`` (virtual environments), and paths that ``.gitignore`` files ignore are
  skipped.  ``.gitignore`` files apply to their own subtree, deeper files take precedence, and
  those above the walked directory count up to the repository root (the nearest directory that
  contains ``.git``).
* A path named on the command line is always processed, even when a pattern or ``.gitignore``
  would exclude it, unless ``--force-exclude`` is given (editors and pre-commit pass every
  changed file explicitly; ``--force-exclude`` makes them respect the excludes).  Any explicitly
  named file is read as Python, whatever its suffix.
* Symbolic links are followed only inside the directory being walked and never into a directory
  already visited, so a link cannot lead out of the tree or round a loop.  A dangling link named
  ``*.py`` is an error for that path.  A file reached twice (through a link) is processed once.
* Missing paths and unreadable directories are errors for that path; the run continues.
* The result is sorted by path components, so the output order never depends on the file system.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence

from gradsafe.errors import FileError
from gradsafe.files.paths import display_path, path_sort_key
from gradsafe.settings.patterns import PathPatterns, first_decision, read_gitignore
from gradsafe.rules import IO_ERROR

PYTHON_SUFFIX = ".py"
VENV_MARKER = "pyvenv.cfg"


@dataclass(frozen=True)
class SourcePath:
    path: Path  # as reached (a symlink stays a symlink; writing resolves it)
    display: str


@dataclass
class Discovery:
    files: list[SourcePath] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    """What to leave out of a walk."""

    exclude: PathPatterns
    force_exclude: bool = False
    respect_gitignore: bool = True


def _repository_root(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _ancestor_gitignores(directory: Path) -> list[PathPatterns]:
    """``.gitignore`` layers of the directories above ``directory`` up to its repository root, deepest first."""
    root = _repository_root(directory)
    if root is None or root == directory:
        return []
    layers = []
    for parent in directory.parents:
        layer = read_gitignore(parent)
        if layer is not None:
            layers.append(layer)
        if parent == root:
            break
    return layers


def _excluded(path: Path, exclude: PathPatterns, gitignores: list[PathPatterns], *, is_dir: bool, top: Path) -> bool:
    if exclude.matches(path, is_dir=is_dir, outside=top):
        return True
    return first_decision(gitignores, path, is_dir=is_dir) is True


def force_excluded(path: Path, filters: Filters, *, is_dir: bool = False) -> bool:
    """Whether ``--force-exclude`` drops a path named on the command line (or ``--stdin-filename``)."""
    absolute = Path(os.path.abspath(path))
    gitignores = _ancestor_gitignores(absolute) if filters.respect_gitignore else []
    return _excluded(absolute, filters.exclude, gitignores, is_dir=is_dir, top=absolute.parent)


class _Walker:
    def __init__(self, filters: Filters, cwd: Path, discovery: Discovery) -> None:
        self.filters = filters
        self.cwd = cwd
        self.discovery = discovery
        self.seen_files: set[str] = set()

    def error(self, path: Path, message: str) -> None:
        self.discovery.errors.append(FileError(display_path(path, self.cwd), IO_ERROR, message))

    def add_file(self, path: Path, real: str | None = None) -> None:
        """Add ``path`` unless its file was added already; ``real`` is its real path when the caller knows it."""
        if real is None:
            real = os.path.realpath(path)
        if real not in self.seen_files:
            self.seen_files.add(real)
            self.discovery.files.append(SourcePath(path, display_path(path, self.cwd)))

    def explicit(self, path: Path) -> None:
        """A path named on the command line."""
        if not os.path.lexists(path):
            self.error(path, "no such file or directory")
            return
        if not path.exists():
            self.error(path, "dangling symbolic link")
            return
        is_dir = path.is_dir()
        if self.filters.force_exclude and force_excluded(path, self.filters, is_dir=is_dir):
            return
        if is_dir:
            self.walk(path)
        else:
            self.add_file(path)

    def walk(self, top: Path) -> None:
        absolute_top = Path(os.path.abspath(top))
        real_top = os.path.realpath(top)
        visited: set[str] = set()
        inherited = _ancestor_gitignores(absolute_top) if self.filters.respect_gitignore else []
        exclude = self.filters.exclude
        # A directory named on the command line is walked even if it is excluded (or inside an
        # excluded or ignored directory); then only what lies below it is matched.
        if exclude.matches(absolute_top, is_dir=True, outside=absolute_top.parent):
            exclude = PathPatterns(exclude.patterns, absolute_top)
        if first_decision(inherited, absolute_top, is_dir=True):
            inherited = []
        stack: list[tuple[Path, Path, list[PathPatterns]]] = [(top, absolute_top, inherited)]
        # Entries reached through a symbolic link wait until the real tree has been walked, so a
        # file reachable both ways is reported under its real name.
        linked_dirs: list[tuple[Path, Path, list[PathPatterns]]] = []
        linked_files: list[Path] = []
        found: list[tuple[Path, str]] = []  # with the real path: in a directory reached without a link, its real one joined with the name
        while stack or linked_dirs:
            directory, absolute_dir, parent_layers = stack.pop() if stack else linked_dirs.pop(0)
            real_dir = os.path.realpath(absolute_dir)
            if real_dir in visited:
                continue  # a loop, or a second way into a directory already walked
            visited.add(real_dir)
            layers = parent_layers
            if self.filters.respect_gitignore:
                own = read_gitignore(absolute_dir)
                if own is not None:
                    layers = [own, *parent_layers]
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError as exc:
                self.error(directory, f"cannot list directory: {exc.strerror or exc}")
                continue
            subdirectories: list[tuple[Path, Path, list[PathPatterns]]] = []
            for entry in entries:
                linked = entry.is_symlink()
                if not linked and not entry.name.endswith(PYTHON_SUFFIX):
                    try:
                        if not entry.is_dir():
                            continue  # most entries: data files, skipped before any path is built
                    except OSError:
                        continue
                path = directory / entry.name
                absolute = absolute_dir / entry.name
                if linked:
                    real = os.path.realpath(absolute)
                    if not os.path.exists(real):
                        if entry.name.endswith(PYTHON_SUFFIX):
                            self.error(path, "dangling symbolic link")
                        continue
                    if real != real_top and not real.startswith(real_top + os.sep):
                        continue  # it leads out of the tree
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir:
                    if _excluded(absolute, exclude, layers, is_dir=True, top=absolute_top):
                        continue
                    if os.path.exists(os.path.join(absolute, VENV_MARKER)):
                        continue
                    (linked_dirs if linked else subdirectories).append((path, absolute, layers))
                elif entry.name.endswith(PYTHON_SUFFIX):
                    if not _excluded(absolute, exclude, layers, is_dir=False, top=absolute_top):
                        if linked:
                            linked_files.append(path)
                        else:
                            found.append((path, os.path.join(real_dir, entry.name)))
            stack.extend(reversed(subdirectories))
        for path, real in found:
            self.add_file(path, real)
        for path in linked_files:
            self.add_file(path)


def discover(paths: Sequence[Path], filters: Filters, *, cwd: Path | None = None) -> Discovery:
    """The Python files under ``paths`` (and the errors met on the way), sorted by display path."""
    discovery = Discovery()
    walker = _Walker(filters, Path.cwd() if cwd is None else cwd, discovery)
    for path in paths:
        walker.explicit(path)
    discovery.files.sort(key=lambda f: path_sort_key(f.display))
    discovery.errors.sort(key=lambda e: e.sort_key)
    return discovery
