"""The user's project as the worker sees it: module names, import paths, and which code is theirs.

A file's module name is what Python would call it when imported from the directory above its
topmost package (``src/pkg/model.py`` with ``src/pkg/__init__.py`` is ``pkg.model``, importable
with ``src`` on ``sys.path``); a file outside any package is named by its stem.  A file whose name
cannot be a module name (``train-v2.py``), is the name of a standard module (``trace.py``), or is
the name another file of the job takes too (``examples/a/main.py``, ``examples/b/main.py``), gets a
private one.

"User code" is code under the project root or the import directories of the changed, scenario and
example files, except installed packages (anything under ``sys.prefix`` or a ``site-packages``
directory) and gradsafe itself.  Only user modules are kept apart per version; torch and the rest of
the standard library are imported once and shared.
"""

from __future__ import annotations

import os
import site
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import gradsafe

_GRADSAFE_DIR = Path(gradsafe.__file__).resolve().parent


@dataclass(frozen=True)
class ModuleLocation:
    name: str
    import_dir: Path  # the directory that must be on sys.path for `name` to import


def locate_module(path: Path) -> ModuleLocation:
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    # A file named like a standard module (trace.py, copy.py) cannot take that name in a process
    # that already uses the standard one.
    if not parts or not all(part.isidentifier() for part in parts) or parts[0] in sys.stdlib_module_names:
        safe = "".join(c if c.isalnum() else "_" for c in path.stem)
        return ModuleLocation(f"_gradsafe_file_{safe}", path.parent)
    return ModuleLocation(".".join(parts), directory)


@dataclass
class Project:
    """Paths of one verification job (the texts of changed files are served by worlds)."""

    root: Path
    files: tuple[Path, ...]  # changed, scenario-by-path and example files (resolved)
    locations: dict[Path, ModuleLocation] = field(init=False)
    _excluded: tuple[str, ...] = field(init=False, repr=False)
    _user_dirs: tuple[str, ...] = field(init=False, repr=False)
    _user_files: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.locations = _distinct({path: locate_module(path) for path in self.files})
        user_dirs = {self.root, *(loc.import_dir for loc in self.locations.values())}
        self._user_dirs = tuple(sorted(_as_dir(d) for d in user_dirs))
        excluded = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(), site.getusersitepackages()}
        self._excluded = tuple(sorted(_as_dir(Path(d).resolve()) for d in excluded if d)) + (_as_dir(_GRADSAFE_DIR),)

    @property
    def import_dirs(self) -> list[str]:
        """Directories to put in front of ``sys.path``: each file's import directory, then the root."""
        dirs = [str(loc.import_dir) for loc in self.locations.values()] + [str(self.root)]
        return list(dict.fromkeys(dirs))

    def module_name(self, path: Path) -> str:
        return self.locations[path].name

    def display(self, filename: str | Path) -> str:
        """A file name for messages: relative to the root when it is inside it."""
        path = Path(filename)
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def is_user_file(self, filename: str) -> bool:
        known = self._user_files.get(filename)
        if known is None:
            resolved = _as_dir(Path(filename).resolve()) if filename and not filename.startswith("<") else ""
            known = bool(resolved) and (
                resolved.startswith(self._user_dirs)
                and not resolved.startswith(self._excluded)
                and "site-packages" not in resolved
            )
            self._user_files[filename] = known
        return known

    def is_user_module(self, module: ModuleType) -> bool:
        filename = getattr(module, "__file__", None)
        if filename:
            return self.is_user_file(filename)
        return any(self.is_user_file(p) for p in getattr(module, "__path__", ()) or ())


def _distinct(locations: dict[Path, ModuleLocation]) -> dict[Path, ModuleLocation]:
    """Give files that would take the same module name (``a/main.py``, ``b/main.py``) private names.

    One process holds one module per name: without this, the second file would be served the
    first one's module.  The private name is stable for a path (both worlds use the same).
    """
    paths_by_name: dict[str, list[Path]] = {}
    for path, location in locations.items():
        paths_by_name.setdefault(location.name, []).append(path)
    distinct = dict(locations)
    for paths in paths_by_name.values():
        if len(paths) > 1:
            for path in paths:
                safe = "".join(c if c.isalnum() else "_" for c in path.stem)
                tag = zlib.crc32(str(path).encode("utf-8", "surrogateescape"))
                distinct[path] = ModuleLocation(f"_gradsafe_file_{safe}_{tag:08x}", path.parent)
    return distinct


def _as_dir(path: Path) -> str:
    return str(path).rstrip(os.sep) + os.sep
