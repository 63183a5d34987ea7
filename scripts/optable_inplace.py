"""The in-place forms of the catalogue's APIs, for ``build_optable.py``.

Which in-place variant an API has (the ``op_`` method, ``__iop__``, an ``inplace=`` argument and
where it goes positionally), the samples to run it on, whether it computes what its out-of-place
form computes, and the lists of every in-place Tensor method and in-place function of torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import torch
from optable_catalogue import (
    Api,
    CATALOGUE,
    GENERIC_INPLACE_SAMPLES,
    Sample,
    SPECIFIC_INPLACE_SAMPLES,
)
from optable_probe import bind, resolve


# ---------------------------------------------------------------------------------------------
# In-place forms: which exist, how they are spelled, what they change
# ---------------------------------------------------------------------------------------------


def inplace_variant(api: Api) -> str | None:
    """The Tensor method that does the same in place: ``sigmoid_`` for sigmoid, ``__iadd__`` for ``__add__``."""
    if api.kind in ("module", "factory"):
        return None
    short = api.name.rsplit(".", 1)[1]
    candidate = f"__i{short[2:]}" if api.kind == "operator" else f"{short}_"
    return candidate if callable(getattr(torch.Tensor, candidate, None)) else None


def accepts_inplace_kwarg(api: Api) -> bool:
    return _inplace_parameters(api) is not None


def inplace_position(api: Api) -> int | None:
    """Where ``inplace`` goes when passed positionally (``nn.LeakyReLU(0.2, True)``, ``F.relu(x, True)``).

    Its index among the call's positional arguments (a module's constructor arguments, ``self``
    left out); None when it is keyword-only or not a parameter at all.
    """
    params = _inplace_parameters(api)
    if params is None:
        return None
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if api.kind == "module":
        positional = positional[1:]  # self
    return positional.index("inplace") if "inplace" in positional else None


def _inplace_parameters(api: Api) -> list[inspect.Parameter] | None:
    """The parameters of the call that takes ``inplace`` (a module's ``__init__``), or None if it takes none."""
    target = resolve(api.name)
    if api.kind == "module":
        target = target.__init__
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature take no inplace=
        return None
    return params if any(p.name == "inplace" for p in params) else None


def inplace_samples(name: str) -> Iterator[Sample]:
    """Argument recipes for an in-place method: catalogue samples of its op, specific ones, generic ones."""
    for api in CATALOGUE:
        if api.kind in ("method", "function") and inplace_variant(api) == name:
            yield from api.samples
    yield from SPECIFIC_INPLACE_SAMPLES.get(name, ())
    yield from GENERIC_INPLACE_SAMPLES


def compare_with_out_of_place(mutated: torch.Tensor, method: Api, sample: Sample, out_of_place: str) -> str | None:
    """Compare the in-place result with ``x.op(*args)`` on fresh inputs and the same seed.

    "same", or what differs ("dtype", "shape", "values"); None when the out-of-place form does not
    take these arguments.
    """
    bound = bind(method, sample, frozenset())
    torch.manual_seed(0)
    try:
        expected = getattr(torch.Tensor, out_of_place)(*bound.args, **bound.kwargs)
    except Exception:  # noqa: BLE001 - the out-of-place form takes other arguments: try another recipe
        return None
    if not isinstance(expected, torch.Tensor):
        return None
    if expected.shape != mutated.shape:
        return "shape"
    if expected.dtype != mutated.dtype:
        return "dtype"
    return "same" if identical(mutated, expected) else "values"


def identical(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape, dtype and values (NaN equal to NaN: acosh_ of inputs below 1)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)))


def inplace_method_names() -> list[str]:
    """Every in-place Tensor method: callable, name ending in a single underscore, not a dunder."""
    return sorted(
        name
        for name in dir(torch.Tensor)
        if name.endswith("_") and not name.endswith("__") and callable(getattr(torch.Tensor, name))
    )


def inplace_functions() -> dict[str, str]:
    """``torch.relu_`` -> ``torch.relu``: in-place functions whose out-of-place function exists."""
    found = {}
    for prefix, namespace in (("torch", torch), ("torch.nn.functional", torch.nn.functional)):
        for name in dir(namespace):
            if not name.endswith("_") or name.endswith("__") or not callable(getattr(namespace, name)):
                continue
            if callable(getattr(namespace, name[:-1], None)):
                found[f"{prefix}.{name}"] = f"{prefix}.{name[:-1]}"
    return found
