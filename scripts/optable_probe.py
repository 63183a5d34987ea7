"""Running one sample of a catalogue entry for ``build_optable.py``, and reading what its graph saved.

Binding a sample's arguments (with a given ``requires_grad`` pattern), calling the API, bumping a
tensor's version, running backward, and matching each ``_saved_*`` tensor of the ``grad_fn`` graph
by storage to an argument, the output, or neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import torch
from optable_catalogue import (
    Api,
    BuildError,
    Const,
    Grad,
    Sample,
    Tensors,
)


PARAMS = "@params"  # the module's own parameters, as one pseudo-argument (gradsafe.analysis.optable.PARAMS_TRIGGER)
OUTPUT = "output"
INTERNAL = "internal"


# ---------------------------------------------------------------------------------------------
# Running a sample
# ---------------------------------------------------------------------------------------------


def resolve(name: str) -> Any:
    """The torch object a canonical name denotes (``Tensor.mul`` -> ``torch.Tensor.mul``)."""
    head, *rest = name.split(".")
    obj: Any = torch.Tensor if head == "Tensor" else torch
    for part in rest:
        obj = getattr(obj, part)
    return obj


@dataclass
class Bound:
    """A sample turned into concrete tensors for one ``requires_grad`` pattern."""

    args: list
    kwargs: dict
    module: torch.nn.Module | None
    units: dict[str, list[torch.Tensor]]  # role (parameter name, or "@params") -> its tensors
    boundary: list  # the arguments' own grad_fn nodes: the graph walk stops there

    @property
    def first(self) -> torch.Tensor | None:
        """The first positional argument, when it is a tensor (the ``self`` of an in-place form)."""
        return self.args[0] if self.args and isinstance(self.args[0], torch.Tensor) else None


def grad_roles(api: Api, sample: Sample) -> tuple[str, ...]:
    """The roles whose ``requires_grad`` the patterns toggle, in parameter order."""
    roles = [api.role(i) for i, arg in enumerate(sample.args) if isinstance(arg, (Grad, Tensors))]
    roles += [name for name, arg in sample.kwargs.items() if isinstance(arg, (Grad, Tensors))]
    if api.kind == "module" and any(True for _ in _construct(api, sample).parameters()):
        roles.append(PARAMS)
    return tuple(dict.fromkeys(roles))


def patterns(roles: tuple[str, ...]) -> list[frozenset[str]]:
    """All roles requiring grad, then each one alone."""
    everything = [frozenset(roles)]
    return everything + [frozenset({r}) for r in roles] if len(roles) > 1 else everything


def _construct(api: Api, sample: Sample) -> torch.nn.Module:
    torch.manual_seed(0)
    mod = resolve(api.name)(*sample.init, **sample.init_kwargs).double()
    return mod.train(sample.train)


def bind(api: Api, sample: Sample, grads: frozenset[str], **init_kwargs: Any) -> Bound:
    """Fresh tensors for ``sample``; the roles in ``grads`` require grad and are made non-leaf."""
    units: dict[str, list[torch.Tensor]] = {}
    boundary: list = []

    def materialize(spec: Any, role: str, seed: int) -> Any:
        if isinstance(spec, Tensors):
            return [materialize(item, role, seed * 10 + k) for k, item in enumerate(spec.items)]
        if isinstance(spec, tuple):  # index tuples, pad widths: materialize tensors inside
            return tuple(materialize(item, role, seed * 10 + k) for k, item in enumerate(spec))
        if not isinstance(spec, (Grad, Const)):
            return spec
        tensor = spec.make(seed)
        if isinstance(spec, Grad) and role in grads:
            tensor = tensor.requires_grad_().clone()  # non-leaf, like an activation
            boundary.append(tensor.grad_fn)
        units.setdefault(role, []).append(tensor)
        return tensor

    args = [materialize(arg, api.role(i), i + 1) for i, arg in enumerate(sample.args)]
    kwargs = {k: materialize(v, k, 100 + i) for i, (k, v) in enumerate(sample.kwargs.items())}
    mod = None
    if api.kind == "module":
        mod = _construct(api, replace(sample, init_kwargs={**sample.init_kwargs, **init_kwargs}))
        params = list(mod.parameters())
        for p in params:
            p.requires_grad_(PARAMS in grads)
        if params:
            units[PARAMS] = params
    return Bound(args, kwargs, mod, units, boundary)


def invoke(api: Api, bound: Bound, *, inplace: str | None = None) -> Any:
    """Call the API on ``bound`` (or its in-place form: a method name, or ``"kwarg"`` for inplace=True)."""
    if bound.module is not None:
        return bound.module(*bound.args, **bound.kwargs)
    if inplace not in (None, "kwarg"):
        return getattr(torch.Tensor, inplace)(*bound.args, **bound.kwargs)
    extra = {"inplace": True} if inplace == "kwarg" else {}
    return resolve(api.name)(*bound.args, **bound.kwargs, **extra)


def tensor_outputs(result: Any) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for t in result if isinstance(t, torch.Tensor)]
    return []


def bump(t: torch.Tensor) -> None:
    """Change ``t``'s version, not its values, the way user code would: an in-place add under no_grad.

    The zero has the tensor's own dtype, so bool and integer tensors work too.  An expanded view
    (stride 0: several elements on one memory location) rejects every in-place write; its version
    is bumped directly, which is what the write would have done.
    """
    if any(stride == 0 and size > 1 for size, stride in zip(t.shape, t.stride(), strict=True)):
        torch.autograd.graph.increment_version(t)
        return
    with torch.no_grad():
        t.add_(t.new_zeros(()))


def loss_of(outputs: list[torch.Tensor]) -> torch.Tensor | None:
    """A scalar to backpropagate from: the sum of every output that requires grad.

    It is formed *before* any bump, so that the experiment exercises only the version check of the
    tensors saved by the op: using an output of unbind/split after bumping its base would raise the
    multiple-views error instead.  ``sum`` itself saves no tensor.
    """
    differentiable = [t for t in outputs if t.requires_grad and t.is_floating_point()]
    return sum(t.sum() for t in differentiable) if differentiable else None


def backward_error(loss: torch.Tensor) -> str | None:
    """The error text of ``loss.backward()``, or None if it worked."""
    try:
        loss.backward()
    except RuntimeError as error:
        return str(error)
    return None


# ---------------------------------------------------------------------------------------------
# Introspection: what the graph saved
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedTensor:
    node: str  # grad_fn class name, e.g. "MulBackward0"
    attribute: str  # without the "_saved_" prefix, e.g. "other"
    tensor: torch.Tensor


def saved_tensors(outputs: Iterable[torch.Tensor], boundary: list) -> list[SavedTensor]:
    """Every tensor saved by the graph between the outputs and the arguments (composites included)."""
    stop = {id(node) for node in boundary if node is not None}
    seen: set[int] = set()
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    found: list[SavedTensor] = []
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or id(node) in stop:
            continue
        seen.add(id(node))
        for attribute in dir(node):
            if not attribute.startswith("_saved_"):
                continue
            value = getattr(node, attribute)
            values = value if isinstance(value, (tuple, list)) else (value,)
            for item in values:
                if isinstance(item, torch.Tensor):
                    found.append(SavedTensor(type(node).__name__, attribute.removeprefix("_saved_"), item))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return found


def _layout(t: torch.Tensor) -> tuple:
    return (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()))


def classify(saved: torch.Tensor, candidates: list[tuple[str, torch.Tensor]]) -> str:
    """Which role a saved tensor is: the exact tensor (layout) first, then any view of its storage."""
    layout = _layout(saved)
    exact = {role for role, t in candidates if _layout(t) == layout}
    shared = {role for role, t in candidates if t.untyped_storage().data_ptr() == layout[0]}
    for matches in (exact, shared):
        if len(matches) > 1:
            raise BuildError(f"saved tensor matches several arguments: {sorted(matches)}")
        if matches:
            return matches.pop()
    return INTERNAL


def candidates_of(bound: Bound, output: torch.Tensor | None) -> list[tuple[str, torch.Tensor]]:
    pairs = [(role, t) for role, tensors in bound.units.items() for t in tensors]
    return pairs + ([(OUTPUT, output)] if output is not None else [])


def strongest(values: Iterable[str], order: tuple[str, ...]) -> str | None:
    present = set(values)
    return next((v for v in order if v in present), None)


def shares_storage(outputs: list[torch.Tensor], arguments: list[torch.Tensor]) -> bool:
    storages = {t.untyped_storage().data_ptr() for t in arguments}
    return any(t.untyped_storage().data_ptr() in storages for t in outputs)
