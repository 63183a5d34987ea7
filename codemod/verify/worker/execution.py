"""Running one version of a target on one set of inputs, and recording everything a caller could see.

An ``Execution`` holds the forward outputs, the state of every argument after the call
(caller-visible mutation, including module parameters, buffers and ``.grad``), the gradients, and
the error if there was one.  The gradients are those of a fixed scalar

    s = sum over differentiable outputs o of <v_o, o>  +  sum over non-leaf tensor arguments a of <w_a, a>

with respect to every input that requires grad (tensor arguments and module parameters), where the
cotangents ``v``, ``w`` are random but fixed by the value's name, so both versions (and every
finite-difference evaluation) use the same ones.  The argument terms are what make a mutation of
an argument part of what is differentiated: ``scale_(h)`` returns nothing, but the caller's ``h``
changed, and so does its gradient.  Gradients come from ``torch.autograd.grad``, so the ``.grad``
that the code itself may have filled (a training step calling ``backward()``) is left alone and
compared as state.

Before every run the RNGs are seeded identically (so dropout draws the same mask), and the
world's modules are active (so imports inside the target resolve to the same version).
"""

from __future__ import annotations

import random
import re
import sys
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from gradsafe.verify.inplace_errors import InplaceError, classify
from gradsafe.verify.worker.snapshot import Inputs
from gradsafe.verify.worker.values import argument_names, capture, named_values
from gradsafe.verify.worker.worlds import World

SEED = 20240613


def seed_everything() -> None:
    torch.manual_seed(SEED)
    random.seed(SEED)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(SEED % (2**32))


@contextmanager
def default_dtype(dtype: torch.dtype | None) -> Iterator[None]:
    """Make tensors the code allocates itself (``torch.zeros(n)``) match the inputs' precision."""
    previous = torch.get_default_dtype()
    if dtype is not None:
        torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


class _BackwardMonitor:
    """Counts ``backward()``/``autograd.grad`` calls made by user code (a training step)."""

    def __init__(self) -> None:
        self.calls = 0
        self._counting = False
        for name in ("backward", "grad"):
            setattr(torch.autograd, name, self._counted(getattr(torch.autograd, name)))

    def _counted(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            if self._counting:
                self.calls += 1
            return function(*args, **kwargs)

        counted.__wrapped__ = function  # type: ignore[attr-defined]
        return counted

    @contextmanager
    def counting(self) -> Iterator[None]:
        self._counting, self.calls = True, 0
        try:
            yield
        finally:
            self._counting = False


_MONITOR: _BackwardMonitor | None = None


def _monitor() -> _BackwardMonitor:
    global _MONITOR
    if _MONITOR is None:
        _MONITOR = _BackwardMonitor()
    return _MONITOR


@dataclass(frozen=True)
class Failure:
    """An exception from user code, classified."""

    type: str
    message: str  # first line
    stage: str  # "call" | "backward"
    inplace: InplaceError | None
    location: str  # "model.py:12" (innermost frame in the user's files), or ""
    # A backward error about a saved tensor: where the forward op that saved it ran ("utils.py:3"),
    # when the run traced its saves (``execute(..., locate_saves=True)``), or "".
    saved_at: str = ""

    @classmethod
    def of(cls, exc: BaseException, stage: str, world: World) -> Failure:
        if isinstance(exc, SystemExit):
            message = f"sys.exit({exc.code!r}) was called"
        else:
            lines = str(exc).strip().splitlines()
            message = lines[0] if lines else ""
        location = ""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if world.project.is_user_file(frame.filename):
                location = f"{world.project.display(frame.filename)}:{frame.lineno}"
                break
        kind = type(exc).__name__
        return cls(kind, message, stage, classify(kind, message), location)

    def describe(self) -> str:
        where = f" at {self.location}" if self.location else ""
        message = self.message.split(" Hint:")[0].removesuffix(" instead.")
        text = f"{self.type}: {message}" if message else self.type
        saved = f" (the tensor was saved for backward at {self.saved_at})" if self.saved_at else ""
        return f"{_clip(text)}{where}{saved}"


_FORWARD_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)', re.MULTILINE)


def _saved_at(caught: list[warnings.WarningMessage], world: World) -> str:
    """The innermost frame in the user's files of the forward call that anomaly mode blames."""
    for warning in caught:
        text = str(warning.message)
        if "Traceback of forward call that caused the error" not in text:
            continue
        frames = [(m["file"], int(m["line"])) for m in _FORWARD_FRAME.finditer(text)]
        for filename, line in reversed(frames):
            if world.project.is_user_file(filename):
                return f"{world.project.display(filename)}:{line}"
    return ""


def _clip(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Call:
    """How to call a target: ``entry(*args, **kwargs)``; argument names come from ``signature``."""

    entry: Callable[..., Any]
    signature: Callable[..., Any]


@dataclass
class Differentiable:
    """An input that requires grad: ``seen`` is what the code gets, ``leaf`` collects its gradient."""

    name: str
    seen: torch.Tensor
    leaf: torch.Tensor


@dataclass
class Execution:
    outputs: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    grads: dict[str, torch.Tensor] = field(default_factory=dict)
    terms: tuple[str, ...] = ()  # names of the values in the scalar s
    error: Failure | None = None
    ran_backward: bool = False  # the code called backward()/autograd.grad itself
    leaf_state: frozenset[str] = frozenset()  # state entries that are leaves requiring grad
    scalar: float | None = None  # s, for runs without grad

    def forward(self, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Outputs and argument state, labelled for reports, without the ``exclude``d state."""
        values = dict(self.outputs)
        values.update({f"{k} after the call": v for k, v in self.state.items() if k not in exclude})
        return values


def differentiables(named_args: list[tuple[str, Any]], inputs: Inputs) -> list[Differentiable]:
    found: list[Differentiable] = []
    seen_leaves: set[int] = set()
    for arg_name, arg in named_args:
        for name, value in named_values(arg, arg_name):
            if not isinstance(value, torch.Tensor) or not (value.is_floating_point() and value.requires_grad):
                continue
            leaf = inputs.leaf_behind.get(id(value), value if value.is_leaf else None)
            if leaf is not None and id(leaf) not in seen_leaves:
                seen_leaves.add(id(leaf))
                found.append(Differentiable(name, value, leaf))
    return found


def cotangent(name: str, like: torch.Tensor) -> torch.Tensor:
    generator = torch.Generator().manual_seed(zlib.crc32(name.encode("utf-8")))
    return torch.randn(like.shape, generator=generator, dtype=like.dtype)


def execute(
    call: Call,
    inputs: Inputs,
    world: World,
    *,
    grad: bool,
    dtype: torch.dtype | None,
    mode: AbstractContextManager[Any] | None = None,
    terms: tuple[str, ...] | None = None,
    perturb: Callable[[list[Differentiable]], None] | None = None,
    locate_saves: bool = False,
) -> Execution:
    """Run ``call`` once.

    With ``grad=False`` (a reference run) ``terms`` names the values that make up s, and
    ``perturb`` may shift the inputs first (finite differences).  ``locate_saves`` runs under
    autograd's anomaly mode, so that a backward error about a modified saved tensor says where
    the forward op that saved it ran (``Failure.saved_at``); it costs time, so callers ask for it
    only to explain a failure they already saw.
    """
    if locate_saves:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with torch.autograd.detect_anomaly(check_nan=False):
                run = execute(call, inputs, world, grad=grad, dtype=dtype, mode=mode, terms=terms, perturb=perturb)
        if run.error is not None and run.error.stage == "backward":
            run.error = replace(run.error, saved_at=_saved_at(caught, world))
        return run
    named_args = argument_names(call.signature, inputs.args, inputs.kwargs)
    inputs_needing_grad = differentiables(named_args, inputs)
    if perturb is not None:
        with torch.no_grad():
            perturb(inputs_needing_grad)
    monitor = _monitor()
    run = Execution()
    seed_everything()
    with world.active(), default_dtype(dtype), torch.set_grad_enabled(grad), mode or nullcontext():
        with monitor.counting():
            try:
                result = call.entry(*inputs.args, **inputs.kwargs)
            except BaseException as exc:  # user code may raise anything, even SystemExit
                run.error = Failure.of(exc, "call", world)
                result = None
        run.ran_backward = monitor.calls > 0
        if run.error is None:
            run.outputs = capture(result, "return")
        for arg_name, arg in named_args:
            run.state.update(capture(arg, arg_name))
        run.leaf_state = frozenset(
            name
            for arg_name, arg in named_args
            for name, value in named_values(arg, arg_name)
            if isinstance(value, torch.Tensor) and value.is_leaf and value.requires_grad
        )
        if run.error is not None:
            return run
        if not grad:
            run.terms = terms or ()
            run.scalar = _scalar_of(run, run.terms)
            return run
        live = [
            (name, value)
            for name, value in named_values(result, "return")
            if isinstance(value, torch.Tensor) and value.is_floating_point() and value.requires_grad
        ]
        live += [(d.name, d.seen) for d in inputs_needing_grad if d.seen is not d.leaf and d.seen.requires_grad]
        run.terms = tuple(name for name, _ in live)
        if not live or not inputs_needing_grad:
            return run
        try:
            s = sum((cotangent(name, value) * value).sum() for name, value in live)
            leaves = [d.leaf for d in inputs_needing_grad]
            found = torch.autograd.grad(s, leaves, allow_unused=True)
        except BaseException as exc:  # backward runs user code too (hooks, custom Functions)
            failure = Failure.of(exc, "backward", world)
            if run.ran_backward and failure.inplace is None:
                # The code ran backward itself and freed its graph: there is nothing left to
                # differentiate, and its effect (the .grad it filled) is compared as state.
                run.terms = ()
                return run
            run.error = failure
            return run
        run.grads = {
            d.name: g.detach() if g is not None else torch.zeros_like(d.leaf)
            for d, g in zip(inputs_needing_grad, found)
        }
    return run


def _scalar_of(run: Execution, terms: tuple[str, ...]) -> float | None:
    total = 0.0
    for name in terms:
        value = run.outputs.get(name, run.state.get(name))
        if not isinstance(value, torch.Tensor):
            return None
        total += float((cotangent(name, value) * value).sum())
    return total
