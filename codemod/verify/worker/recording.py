"""Recording the real calls made while a scenario runs: their arguments, and who made them.

When a changed file or a scenario file is loaded into a world, every function and method it
defines is wrapped (in that world's module and classes only).  While a scenario runs, a wrapper
counts the call, notes the caller (the nearest frame in the user's code, as a unit name such as
``Block.forward``), and on the first call takes a ``Snapshot`` of the arguments, ``self``
included.  Calls of ``nn.Module`` objects are seen by a global forward pre-hook: an instance of a
class defined in a changed file is recorded as ``Net()`` (whichever class defines its
``forward``), and a module-level instance of a changed file as ``<module>:<name>``.  Outside
scenarios the wrappers only pass calls through.

This is how a function deep inside a model is checked with realistic inputs, and how a function
that stopped mutating its argument is judged by its callers (see ``verifier``).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import torch

from gradsafe.verify.worker.snapshot import Snapshot, SnapshotError
from gradsafe.verify.worker.worlds import World

Key = tuple[Path, str]  # (file, unit name or "<module>:<global>")


def module_instance_key(name: str) -> str:
    return f"<module>:{name}"


def module_call_key(cls: type) -> str:
    return f"{cls.__qualname__}()"


@dataclass(frozen=True)
class Caller:
    path: Path
    unit: str


class Recorder:
    """The calls one world made while scenarios ran."""

    def __init__(self, changed: frozenset[Path]) -> None:
        self.changed = changed
        self.recording = False
        self.calls: Counter[Key] = Counter()
        self.snapshots: dict[Key, Snapshot] = {}
        self.problems: dict[Key, str] = {}
        self.callers: dict[Key, set[Caller]] = defaultdict(set)
        self.scenario_of: dict[Key, str] = {}
        self.scenario = ""
        self.probed: Counter[Key] = Counter()  # calls seen while `probing`
        self._probing = False
        self._world: World | None = None
        self._busy = False
        self._module_classes: dict[type, Path] = {}
        self._instances: dict[int, Key] = {}
        self._hook = torch.nn.modules.module.register_module_forward_pre_hook(self._on_module_call)

    def close(self) -> None:
        self._hook.remove()

    @contextmanager
    def probing(self) -> Iterator[Counter[Key]]:
        """Count calls (nothing else) while the block runs: did this input reach that method?"""
        self._probing, self.probed = True, Counter()
        try:
            yield self.probed
        finally:
            self._probing = False

    # Loading ---------------------------------------------------------------------------------

    def instrument(self, module: ModuleType, path: Path, world: World) -> None:
        """Wrap what ``module`` (just executed from ``path`` in ``world``) defines."""
        self._world = world
        for name, value in list(vars(module).items()):
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                setattr(module, name, self._wrap(value, (path, value.__qualname__)))
            elif inspect.isclass(value) and value.__module__ == module.__name__:
                self._instrument_class(value, path)
            elif path in self.changed and isinstance(value, torch.nn.Module):
                self._instances[id(value)] = (path, module_instance_key(name))

    def _instrument_class(self, cls: type, path: Path) -> None:
        if issubclass(cls, torch.nn.Module) and path in self.changed:
            self._module_classes[cls] = path
        for name, value in list(vars(cls).items()):
            if isinstance(value, (staticmethod, classmethod)) and inspect.isfunction(value.__func__):
                setattr(cls, name, type(value)(self._wrap(value.__func__, (path, value.__func__.__qualname__))))
            elif inspect.isfunction(value) and value.__qualname__.startswith(cls.__qualname__ + "."):
                setattr(cls, name, self._wrap(value, (path, value.__qualname__)))
            elif inspect.isclass(value) and value.__qualname__.startswith(cls.__qualname__ + "."):
                self._instrument_class(value, path)

    def _wrap(self, function: Callable[..., Any], key: Key) -> Callable[..., Any]:
        @functools.wraps(function)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if self.recording:
                self._note(key, args, kwargs)
            elif self._probing:
                self.probed[key] += 1
            return function(*args, **kwargs)

        return recorded

    def _on_module_call(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if not self.recording:
            return
        instance_key = self._instances.get(id(module))
        if instance_key is not None:
            self._note(instance_key, (module, *args), {})
        path = self._module_classes.get(type(module))
        if path is not None:
            self._note((path, module_call_key(type(module))), (module, *args), {})

    # Calls -----------------------------------------------------------------------------------

    def _note(self, key: Key, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._busy:  # a copy constructor calling back into user code
            return
        self._busy = True
        try:
            self.calls[key] += 1
            caller = self._caller()
            if caller is not None:
                self.callers[key].add(caller)
            if key not in self.snapshots and key not in self.problems:
                try:
                    self.snapshots[key] = Snapshot.take(args, kwargs)
                    self.scenario_of[key] = self.scenario
                except SnapshotError as exc:
                    self.problems[key] = f"its arguments could not be copied ({exc})"
        finally:
            self._busy = False

    def _caller(self) -> Caller | None:
        world = self._world
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if world is not None and world.project.is_user_file(filename):
                qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
                return Caller(Path(filename).resolve(), qualname.split(".<locals>")[0])
            frame = frame.f_back
        return None
