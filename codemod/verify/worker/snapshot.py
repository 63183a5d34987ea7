"""Inert copies of a call's arguments, and fresh live inputs made from them for every run.

A recorded call's arguments are still in use by the program that made them (and a tensor in the
middle of a forward is not a leaf, which ``copy.deepcopy`` refuses), so ``Snapshot.take`` copies
them with tensors detached: a non-leaf tensor that required grad is remembered as such.  Each run
then gets its own ``Inputs`` from ``Snapshot.fresh``: tensors cloned (in float64 when asked),
leaves that required grad made leaves again, and non-leaf tensors re-created as ``leaf.clone()``,
so the code sees a non-leaf (in-place writes to it are legal, as in the real program) while the
gradient collects on the leaf behind it.  Modules, containers and other objects are deep-copied,
so state that one run changes (BatchNorm statistics, a counter, a parameter) never leaks into the
next.  ``.grad`` of parameters and leaves is kept: an update step reads it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch


class SnapshotError(Exception):
    """The arguments cannot be copied (a lock, an open file, a generator ...)."""


@contextmanager
def _copying_tensors(copy_tensor: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
    """Make ``copy.deepcopy`` copy plain tensors and parameters with ``copy_tensor``.

    ``deepcopy`` consults its dispatch table by exact type before anything else, so this reaches
    every tensor inside modules, containers and objects, and keeps shared tensors shared.
    """
    dispatch = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    saved = {cls: dispatch.get(cls) for cls in (torch.Tensor, torch.nn.Parameter)}
    for cls in saved:
        dispatch[cls] = lambda tensor, memo: copy_tensor(tensor)
    try:
        yield
    finally:
        for cls, previous in saved.items():
            if previous is None:
                dispatch.pop(cls, None)
            else:
                dispatch[cls] = previous


def _detached(tensor: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    data = tensor.detach().clone()
    if dtype is not None and data.is_floating_point():
        data = data.to(dtype)
    return data


def _with_grad_of(new: torch.Tensor, old: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    if old.grad is not None:
        new.grad = _detached(old.grad, dtype)
    return new


@dataclass
class Inputs:
    """One run's live arguments.

    ``leaf_behind`` maps ``id`` of each non-leaf argument tensor to the leaf it was cloned from.
    """

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    leaf_behind: dict[int, torch.Tensor]


@dataclass
class Snapshot:
    """Detached copies of ``(args, kwargs)``; ``nonleaf`` holds ids of copies of non-leaf tensors."""

    value: tuple[tuple[Any, ...], dict[str, Any]]
    nonleaf: frozenset[int]

    @classmethod
    def take(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Snapshot:
        nonleaf: set[int] = set()

        def copy_tensor(tensor: torch.Tensor) -> torch.Tensor:
            if isinstance(tensor, torch.nn.Parameter):
                new = torch.nn.Parameter(_detached(tensor, None), requires_grad=tensor.requires_grad)
                return _with_grad_of(new, tensor, None)
            new = _detached(tensor, None)
            if tensor.requires_grad:
                new.requires_grad_(True)
                if tensor.is_leaf:
                    _with_grad_of(new, tensor, None)
                else:
                    nonleaf.add(id(new))
            return new

        value = _deepcopy((tuple(args), dict(kwargs)), copy_tensor)
        return cls(value, frozenset(nonleaf))

    def replaced(self, value: tuple[tuple[Any, ...], dict[str, Any]]) -> Snapshot:
        """A snapshot of ``value``, which was built from this one's objects (non-leaf ids carry over)."""
        return Snapshot(value, self.nonleaf)

    def fresh(self, dtype: torch.dtype | None) -> Inputs:
        """Live inputs for one run; floating tensors in ``dtype`` when it is given."""
        leaf_behind: dict[int, torch.Tensor] = {}

        def copy_tensor(tensor: torch.Tensor) -> torch.Tensor:
            if isinstance(tensor, torch.nn.Parameter):
                new = torch.nn.Parameter(_detached(tensor, dtype), requires_grad=tensor.requires_grad)
                return _with_grad_of(new, tensor, dtype)
            new = _detached(tensor, dtype)
            if not tensor.requires_grad:
                return new
            new.requires_grad_(True)
            if id(tensor) not in self.nonleaf:
                return _with_grad_of(new, tensor, dtype)
            with torch.enable_grad():
                seen = new.clone()
            leaf_behind[id(seen)] = new
            return seen

        args, kwargs = _deepcopy(self.value, copy_tensor)
        return Inputs(args, kwargs, leaf_behind)


def _deepcopy(value: Any, copy_tensor: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    try:
        with _copying_tensors(copy_tensor), torch.no_grad():
            return copy.deepcopy(value)
    except Exception as exc:  # user objects can refuse copying in any way
        raise SnapshotError(f"{type(exc).__name__}: {exc}") from None
