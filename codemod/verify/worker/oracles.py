"""Independent references for a rewrite's gradients, all computed from the *original* code.

* **Finite differences** (the reference): central differences of the original's scalar ``s`` (see
  ``execution``), evaluated under ``torch.no_grad()`` in float64, where autograd's in-place checks
  do not apply.  Every evaluation gets fresh inputs and module state from the snapshot and a
  reseeded RNG, so a mutating function cannot corrupt its own inputs and dropout keeps its mask.
  With few input elements every partial derivative is computed (two evaluations each); beyond
  ``FULL_LIMIT`` a few random directions ``u`` are checked instead: ``(s(x+hu) - s(x-hu)) / 2h``
  against ``grad · u`` from the rewrite.  FD follows the forward *as executed*, so it also exposes
  silent ``.data`` bugs, and rejects an "intended" fix that changes the forward.
* **functionalize** (a second opinion where it applies): the gradient of ``functionalize(f)`` of the
  original, with every input cloned inside, for plain functions of tensors and for calls of one module
  (parameters through ``functional_call``).  It cannot see through training steps, custom
  ``autograd.Function``\\ s without ``setup_context`` or ``out=`` into outside buffers; then it simply
  does not apply.
* **Untracked parameter updates**, for code that runs ``backward()`` itself (a training step), which
  finite differences cannot differentiate: the original re-run with every in-place write to a
  leaf that requires grad *and already has a gradient* executed under ``no_grad``, which is what an
  optimizer step is.  Writes to leaves without a gradient (a parameter mutated inside forward) are
  left alone and still fail, so a forward-time mutation never gets blessed this way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from gradsafe.verify.verdicts import Mismatch
from gradsafe.verify.worker.compare import Tolerance, compare
from gradsafe.verify.worker.execution import Differentiable, cotangent, differentiables, seed_everything
from gradsafe.verify.worker.snapshot import Inputs
from gradsafe.verify.worker.values import argument_names, named_values

FULL_LIMIT = 64  # input elements up to which every partial derivative is computed
STEP = 1e-6
DIRECTIONS = 3

Perturb = Callable[[list[Differentiable]], None]
Evaluate = Callable[[Perturb], float]  # s of the original under no_grad, after perturbing its inputs


class ReferenceUnavailable(Exception):
    """The reference could not be computed (the original fails under no_grad, names do not match)."""


@dataclass(frozen=True)
class Reference:
    method: str  # how the reference was computed, for the report
    mismatches: tuple[Mismatch, ...]
    max_error: float  # largest deviation of the rewrite from the reference


def _find(inputs: list[Differentiable], name: str) -> Differentiable:
    for d in inputs:
        if d.name == name:
            return d
    raise ReferenceUnavailable(f"the original has no input named {name}")


def finite_differences(evaluate: Evaluate, grads: dict[str, torch.Tensor], tolerance: Tolerance) -> Reference:
    """Compare the rewrite's ``grads`` with central differences of the original's ``s``."""
    total = sum(g.numel() for g in grads.values())
    if total <= FULL_LIMIT:
        return _every_element(evaluate, grads, tolerance)
    return _random_directions(evaluate, grads, tolerance)


def _bump(name: str, index: tuple[int, ...], delta: float) -> Perturb:
    def perturb(inputs: list[Differentiable]) -> None:
        _find(inputs, name).seen[index] += delta

    return perturb


def _shift(direction: dict[str, torch.Tensor], step: float) -> Perturb:
    def perturb(inputs: list[Differentiable]) -> None:
        for name, u in direction.items():
            seen = _find(inputs, name).seen
            seen += step * u.to(seen.dtype)

    return perturb


def _every_element(evaluate: Evaluate, grads: dict[str, torch.Tensor], tolerance: Tolerance) -> Reference:
    numeric: dict[str, torch.Tensor] = {}
    for name, grad in grads.items():
        estimate = torch.zeros_like(grad, dtype=torch.float64)
        for flat in range(grad.numel()):
            index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), grad.shape)) if grad.dim() else ()
            plus, minus = evaluate(_bump(name, index, STEP)), evaluate(_bump(name, index, -STEP))
            estimate[index] = (plus - minus) / (2 * STEP)
        numeric[name] = estimate
    mismatches = compare(numeric, grads, tolerance, label=lambda n: f"grad of {n}")
    error = max((float((numeric[n] - grads[n].double()).abs().max()) for n in grads if grads[n].numel()), default=0.0)
    return Reference(
        f"finite differences ({2 * sum(g.numel() for g in grads.values())} evaluations)", tuple(mismatches), error
    )


def _random_directions(evaluate: Evaluate, grads: dict[str, torch.Tensor], tolerance: Tolerance) -> Reference:
    mismatches: list[Mismatch] = []
    error = 0.0
    norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads.values()))
    for k in range(DIRECTIONS):
        generator = torch.Generator().manual_seed(1000 + k)
        direction = {n: torch.randn(g.shape, generator=generator, dtype=torch.float64) for n, g in grads.items()}
        length = math.sqrt(sum(float(u.pow(2).sum()) for u in direction.values())) or 1.0
        direction = {n: u / length for n, u in direction.items()}
        numeric = (evaluate(_shift(direction, STEP)) - evaluate(_shift(direction, -STEP))) / (2 * STEP)
        analytic = sum(float((grads[n].double() * u).sum()) for n, u in direction.items())
        deviation = abs(numeric - analytic)
        error = max(error, deviation)
        if deviation > tolerance.atol + tolerance.rtol * max(abs(analytic), norm):
            mismatches.append(
                Mismatch(
                    f"directional derivative {k + 1}",
                    max_abs=deviation,
                    max_rel=deviation / abs(numeric) if numeric else math.inf,
                    note=f"finite differences {numeric:.6g}, rewrite {analytic:.6g}",
                )
            )
    return Reference(f"finite differences along {DIRECTIONS} random directions", tuple(mismatches), error)


def functionalized_gradients(
    call_entry: Callable[..., Any],
    signature: Callable[..., Any],
    inputs: Inputs,
    terms: tuple[str, ...],
    through_module: bool,
) -> dict[str, torch.Tensor]:
    """Gradients of the original's ``s`` through ``functionalize``; raises when it does not apply.

    ``through_module``: the call is ``args[0](...)`` (a module's forward), whose parameters are
    passed with ``functional_call``.  Any other module among the arguments makes it inapplicable.
    """
    named_args = argument_names(signature, inputs.args, inputs.kwargs)
    needing_grad = differentiables(named_args, inputs)
    module = inputs.args[0] if through_module and inputs.args else None
    owned = {id(p): n for n, p in module.named_parameters()} if isinstance(module, torch.nn.Module) else {}
    rest = inputs.args[1:] if module is not None else inputs.args
    if _contains_module((rest, inputs.kwargs)):
        raise ReferenceUnavailable("functionalize: a module among the arguments")

    def scalar(*values: torch.Tensor) -> torch.Tensor:
        replaced: dict[int, torch.Tensor] = {}
        parameters: dict[str, torch.Tensor] = {}
        clones: dict[str, torch.Tensor] = {}
        for d, value in zip(needing_grad, values):
            clone = value.clone()
            if id(d.leaf) in owned:
                parameters[owned[id(d.leaf)]] = clone
            else:
                replaced[id(d.seen)] = clone
                clones[d.name] = clone
        args = _substitute(rest, replaced)
        kwargs = _substitute(inputs.kwargs, replaced)
        if module is not None:
            result = torch.func.functional_call(module, parameters, tuple(args), kwargs)
        else:
            result = call_entry(*args, **kwargs)
        outputs = dict(named_values(result, "return"))
        total = torch.zeros((), dtype=torch.float64)
        for name in terms:
            value = outputs.get(name, clones.get(name))
            if not isinstance(value, torch.Tensor):
                raise ReferenceUnavailable(f"functionalize: no value named {name}")
            total = total + (cotangent(name, value) * value).sum()
        return total

    seed_everything()
    primals = [d.leaf.detach().requires_grad_(True) for d in needing_grad]
    found = torch.autograd.grad(torch.func.functionalize(scalar)(*primals), primals, allow_unused=True)
    return {d.name: torch.zeros_like(p) if g is None else g.detach() for d, p, g in zip(needing_grad, primals, found)}


def _contains_module(value: Any) -> bool:
    if isinstance(value, torch.nn.Module):
        return True
    if isinstance(value, dict):
        return any(_contains_module(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_module(v) for v in value)
    return False


def _substitute(value: Any, replaced: dict[int, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        return replaced.get(id(value), value)
    if isinstance(value, dict):
        return type(value)({k: _substitute(v, replaced) for k, v in value.items()})
    if isinstance(value, list):
        return [_substitute(v, replaced) for v in value]
    if isinstance(value, tuple):
        items = [_substitute(v, replaced) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


_INPLACE_DUNDERS = frozenset(
    f"__i{op}__"
    for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "lshift", "rshift")
) | {"__setitem__"}


class UntrackedParameterUpdates(TorchFunctionMode):  # type: ignore[misc]  # torch is Any at check time
    """Run in-place writes to trained leaves (leaves that require grad and have a ``.grad``) untracked."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if args and torch.is_grad_enabled() and _is_inplace(func) and _is_trained_leaf(args[0]):
            with torch.no_grad():
                return func(*args, **kwargs)
        return func(*args, **kwargs)


def _is_inplace(func: Any) -> bool:
    name = getattr(func, "__name__", "")
    return (name.endswith("_") and not name.startswith("_")) or name in _INPLACE_DUNDERS


def _is_trained_leaf(value: Any) -> bool:
    if not isinstance(value, torch.Tensor):
        return False
    base = value if value._base is None else value._base
    return base.is_leaf and base.requires_grad and base.grad is not None


# ---------------------------------------------------------------------- expanded views given their own memory
_EXPANDING = frozenset({torch.Tensor.expand, torch.Tensor.expand_as, torch.broadcast_to})


class PrivateExpandedViews(TorchFunctionMode):  # type: ignore[misc]  # torch is Any to the checker
    """Give every ``expand``/``expand_as``/``broadcast_to`` result its own memory (a clone).

    The reference for an original that torch stops with "more than one element of the written-to
    tensor refers to a single memory location. Please clone() the tensor": the same program with
    the copies the error asks for, so the writes land where each element is.  It changes nothing
    else: a clone has the same values and the same gradient as the view.
    """

    def __init__(self, inner: TorchFunctionMode | None = None) -> None:
        super().__init__()
        self.inner = inner

    def __enter__(self) -> PrivateExpandedViews:
        if self.inner is not None:
            self.inner.__enter__()
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self.inner is not None:
            self.inner.__exit__(*exc)

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        result = func(*args, **(kwargs or {}))
        if func in _EXPANDING and isinstance(result, torch.Tensor):
            return result.clone()
        return result
