"""Naming every value a call returns or leaves behind, so two runs can be compared entry by entry.

``named_values`` walks a returned object or an argument: tensors, numbers and strings are entries;
lists, tuples, dicts and plain objects are walked into (``return['loss']``, ``batch[0]``,
``opt.lr``); a module contributes its parameters and buffers (``self.fc.weight``).  ``capture``
freezes the entries (detached tensor copies, plus the ``.grad`` of every leaf that has one), so a
later run cannot change what an earlier one saw.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

_MAX_DEPTH = 6
_SCALARS = (bool, int, float, complex, str, bytes, type(None))


@dataclass(frozen=True)
class Opaque:
    """A value that is compared by its type only (a function, a generator, an optimizer)."""

    type_name: str


def named_values(value: Any, name: str) -> Iterator[tuple[str, Any]]:
    yield from _walk(value, name, 0, set())


def _walk(value: Any, name: str, depth: int, seen: set[int]) -> Iterator[tuple[str, Any]]:
    if isinstance(value, torch.Tensor):
        yield name, value
        return
    if isinstance(value, _SCALARS):
        yield name, value
        return
    if id(value) in seen or depth > _MAX_DEPTH:
        return
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        for key, tensor in value.named_parameters():
            yield f"{name}.{key}", tensor
        for key, tensor in value.named_buffers():
            yield f"{name}.{key}", tensor
        yield f"{name}.training", value.training
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{name}[{key!r}]", depth + 1, seen)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{name}[{index}]", depth + 1, seen)
    elif _is_plain_object(value):
        for key, item in vars(value).items():
            if not key.startswith("__"):
                yield from _walk(item, f"{name}.{key}", depth + 1, seen)
    else:
        yield name, Opaque(type(value).__qualname__)


def _is_plain_object(value: Any) -> bool:
    return (
        hasattr(value, "__dict__")
        and not isinstance(value, type)
        and not inspect.ismodule(value)
        and not callable(value)
        and type(value).__module__ not in ("builtins", "torch")
        and not type(value).__module__.startswith("torch.")
    )


def freeze(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def capture(value: Any, name: str) -> dict[str, Any]:
    """Frozen copies of every named value, with ``<name>.grad`` for leaves that have a gradient."""
    frozen: dict[str, Any] = {}
    for key, item in named_values(value, name):
        frozen[key] = freeze(item)
        if isinstance(item, torch.Tensor) and item.is_leaf and item.grad is not None:
            frozen[f"{key}.grad"] = freeze(item.grad)
    return frozen


def argument_names(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[str, Any]]:
    """``(parameter name, argument)`` pairs for a call, falling back to ``args[i]`` and keywords."""
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return [(f"args[{i}]", a) for i, a in enumerate(args)] + list(kwargs.items())
    named: list[tuple[str, Any]] = []
    for parameter, argument in bound.arguments.items():
        kind = bound.signature.parameters[parameter].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            named += [(f"{parameter}[{i}]", a) for i, a in enumerate(argument)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            named += [(f"{parameter}[{k!r}]", a) for k, a in argument.items()]
        else:
            named.append((parameter, argument))
    return named
