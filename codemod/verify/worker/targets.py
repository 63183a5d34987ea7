"""What a target unit is at run time, and how to call it in a given world.

* a **function** (``scale_``) is called with its recorded arguments;
* a **method** (``Net.forward``, ``Block.gate``) is called with ``self`` as its first argument; the
  instance comes from the same world (or has its classes switched to that world's, see
  ``inputs.align``), so the rest of the object behaves in that version too;
* a **construction** (``Net.__init__``, or the class body ``Net``) of an ``nn.Module`` is checked by
  building the module in each version and calling it: what ``__init__`` sets up only matters
  through ``forward``;
* ``<module>``: each module-level ``nn.Module`` instance of the file is called the same way.

A unit that is none of these (a plain class's body, a module-level change that touches no module
instance) can only be judged by the scenarios.
"""

from __future__ import annotations

import enum
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from gradsafe.verify.changes import MODULE_UNIT
from gradsafe.verify.worker.execution import Call
from gradsafe.verify.worker.recording import Key, module_call_key, module_instance_key


class Kind(enum.Enum):
    FUNCTION = "function"
    METHOD = "method"
    CONSTRUCTION = "construction"
    MODULE_INSTANCES = "module instances"
    SCENARIO_ONLY = "scenario only"


@dataclass(frozen=True)
class Target:
    path: Path
    qualname: str


def resolve(module: ModuleType, qualname: str) -> Any:
    """The object a dotted unit name refers to in ``module``, unwrapping static/class methods."""
    obj: Any = module
    for part in qualname.split("."):
        owner = obj
        obj = vars(owner).get(part) if inspect.isclass(owner) else getattr(owner, part, None)
        if obj is None:
            raise LookupError(f"{qualname} is not defined in {module.__name__}")
    return obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj


def kind_of(module: ModuleType, qualname: str) -> Kind:
    if qualname == MODULE_UNIT:
        return Kind.MODULE_INSTANCES if module_instances(module) else Kind.SCENARIO_ONLY
    obj = resolve(module, qualname)
    owner_name, _, last = qualname.rpartition(".")
    if inspect.isclass(obj):
        return Kind.CONSTRUCTION if issubclass(obj, torch.nn.Module) else Kind.SCENARIO_ONLY
    if owner_name and inspect.isclass(resolve(module, owner_name)):
        owner = resolve(module, owner_name)
        if last == "__init__" and issubclass(owner, torch.nn.Module):
            return Kind.CONSTRUCTION
        return Kind.METHOD
    return Kind.FUNCTION


def module_instances(module: ModuleType) -> dict[str, torch.nn.Module]:
    return {name: value for name, value in vars(module).items() if isinstance(value, torch.nn.Module)}


def module_class(module: ModuleType, qualname: str) -> type[torch.nn.Module]:
    """The ``nn.Module`` class of a construction target (``Net`` for ``Net.__init__``)."""
    obj = resolve(module, qualname)
    return obj if inspect.isclass(obj) else resolve(module, qualname.rpartition(".")[0])


def _call_module(instance: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
    return instance(*args, **kwargs)


def call_for(module: ModuleType, qualname: str, kind: Kind, instance_name: str = "") -> Call:
    """How to call the unit in this world's ``module``; recorded arguments include ``self``."""
    if kind in (Kind.FUNCTION, Kind.METHOD):
        function = resolve(module, qualname)
        return Call(function, function)
    if kind is Kind.CONSTRUCTION:
        forward = module_class(module, qualname).forward
        return Call(_call_module, forward)
    if kind is Kind.MODULE_INSTANCES:
        return Call(_call_module, type(module_instances(module)[instance_name]).forward)
    raise ValueError(f"{qualname} cannot be called on its own")


def recording_keys(target: Target, module: ModuleType, kind: Kind) -> list[tuple[Key, str]]:
    """Where a scenario's recorded calls for the target are kept: ``(key, instance name)`` pairs."""
    if kind in (Kind.FUNCTION, Kind.METHOD):
        return [((target.path, target.qualname), "")]
    if kind is Kind.CONSTRUCTION:
        cls = module_class(module, target.qualname)
        return [((target.path, module_call_key(cls)), "")]
    if kind is Kind.MODULE_INSTANCES:
        return [((target.path, module_instance_key(name)), name) for name in module_instances(module)]
    return []
