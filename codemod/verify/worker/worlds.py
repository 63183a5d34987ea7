"""A *world* is the user's program in one version: every user module, loaded with one set of texts.

The original and the rewrite must run side by side in one process, and a scenario in another
module must import the rewritten text for the rewritten file in one run and the original in the
other.  Each world therefore owns its own copies of all user modules, under their real names
(``pkg.model``), so relative imports, ``__module__``, pickling and ``isinstance`` checks behave as in
the user's program.  Activating a world puts its modules into ``sys.modules`` and installs a
meta-path finder that serves the world's text for changed files; deactivating it takes them out
again.  Torch and other installed packages are shared.  Nothing is ever written to the user's tree
(the worker also sets ``sys.dont_write_bytecode``).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from gradsafe.verify.worker.project import Project

ORIGINAL = "original"
REWRITE = "rewrite"

OnLoad = Callable[[ModuleType, Path, "World"], None]


class World:
    def __init__(self, version: str, project: Project, texts: dict[Path, str], on_load: OnLoad) -> None:
        self.version = version
        self.project = project
        self.texts = texts  # changed files -> this version's text
        self._on_load = on_load
        self._modules: dict[str, ModuleType] = {}
        self._finder = _Finder(self)
        self._depth = 0

    @contextmanager
    def active(self) -> Iterator[World]:
        if self._depth:  # already active (a scenario imports while running)
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        before = set(sys.modules)
        sys.modules.update(self._modules)
        sys.meta_path.insert(0, self._finder)
        for path, text in self.texts.items():
            linecache.cache[str(path)] = (len(text), None, text.splitlines(True), str(path))
        self._depth = 1
        try:
            yield self
        finally:
            self._depth = 0
            sys.meta_path.remove(self._finder)
            added = {name: sys.modules[name] for name in set(sys.modules) - before}
            kept = {name: module for name, module in added.items() if self.project.is_user_module(module)}
            self._modules = {
                **{name: m for name, m in self._modules.items() if sys.modules.get(name) is m},
                **kept,
            }
            for name in self._modules:
                sys.modules.pop(name, None)

    def module(self, path: Path) -> ModuleType:
        """The module for a project file in this world, importing it (and running it) if needed."""
        with self.active():
            return importlib.import_module(self.project.module_name(path))

    def import_module(self, name: str) -> ModuleType:
        with self.active():
            return importlib.import_module(name)

    def loaded(self) -> dict[Path, ModuleType]:
        """The changed files' modules this world has loaded so far."""
        by_path: dict[Path, ModuleType] = {}
        for module in self._modules.values():
            origin = getattr(module, "__file__", None)
            if origin and Path(origin) in self.texts:
                by_path.setdefault(Path(origin), module)
        return by_path

    def discard(self) -> None:
        """Forget this world's modules (at the end of a job)."""
        self._modules.clear()

    def counterpart(self, cls: type) -> type | None:
        """This world's class of the same module and qualified name as ``cls`` (None if it has none)."""
        module = sys.modules.get(cls.__module__) if self._depth else self._modules.get(cls.__module__)
        obj: object = module
        for part in cls.__qualname__.split("."):
            obj = getattr(obj, part, None)
        return obj if isinstance(obj, type) else None

    def source_for(self, path: Path) -> str:
        text = self.texts.get(path)
        return text if text is not None else path.read_text(encoding="utf-8")


class _Finder(importlib.abc.MetaPathFinder):
    """Finds changed files (serving the world's text) and files known by a private name."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_name = {loc.name: path for path, loc in world.project.locations.items()}

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        origin = self.by_name.get(fullname)
        search = None
        if origin is None:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or not spec.origin or not spec.has_location:
                return None
            origin = Path(spec.origin).resolve()
            if origin not in self.world.texts:
                return None
            search = spec.submodule_search_locations
        elif origin.name == "__init__.py":
            search = [str(origin.parent)]
        loader = _TextLoader(self.world, origin)
        return importlib.util.spec_from_file_location(
            fullname, origin, loader=loader, submodule_search_locations=search
        )


class _TextLoader(importlib.abc.Loader):
    """Executes a file from the world's text (compiled in memory; no bytecode is written)."""

    def __init__(self, world: World, path: Path) -> None:
        self.world = world
        self.path = path

    def get_source(self, fullname: str) -> str:
        return self.world.source_for(self.path)

    def exec_module(self, module: ModuleType) -> None:
        code = compile(self.get_source(module.__name__), str(self.path), "exec", dont_inherit=True)
        exec(code, module.__dict__)
        self.world._on_load(module, self.path, self.world)
