"""In-place writes that hide inside library calls and views, measured on torch for ``build_optable.py``.

Some writes have no ``_`` in the user's code: ``nn.Embedding(max_norm=...)`` renormalises rows of
its weight in place on every call, a training-mode BatchNorm updates its running statistics, and
``nn.utils.clip_grad_norm_`` scales every ``.grad``.  Some views cannot be written at all:
``expand`` makes elements share memory, and most in-place ops then refuse to run.  This module
measures those facts on the installed torch; the catalogue below only says how to make each call.
The results form the ``library_inplace`` section of the table:

* ``modules``: for a module built as the key says (``"torch.nn.Embedding(max_norm=1.0)"``), the
  parameters and buffers whose version counter a forward call bumps, in ``"train"`` and ``"eval"``
  mode (``[]``: the call writes nothing of the module's own).
* ``functions``: for a call of a function as the key says, which of its arguments (by parameter
  name, or ``"grad"`` for the ``.grad`` of the parameters passed) the call bumps.
* ``overlapping_views``: for each view-making op, whether its output (with a size-1 dimension
  broadcast) has elements that share memory (``torch._debug_has_internal_overlap``).
* ``overlap_refused``: for each in-place method (and ``__setitem__``), whether calling it on such
  an overlapping tensor raises (``unsupported operation: more than one element of the written-to
  tensor refers to a single memory location``) rather than writing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
import warnings

import torch

OVERLAP_ERROR = "more than one element of the written-to tensor refers to a single memory location"


@dataclass(frozen=True)
class ModuleCall:
    key: str  # how the table names the construction
    build: Callable[[], torch.nn.Module]
    sample: Callable[[], torch.Tensor]


def _tokens() -> torch.Tensor:
    return torch.tensor([0, 2, 3])


def _features() -> torch.Tensor:
    return torch.randn(4, 3, dtype=torch.float64)


def _images() -> torch.Tensor:
    return torch.randn(2, 3, 4, 4, dtype=torch.float64)


def _big_embedding(**kwargs: Any) -> torch.nn.Module:
    module = torch.nn.Embedding(6, 3, **kwargs).double()
    with torch.no_grad():
        module.weight.mul_(10.0)  # rows longer than max_norm, so a renormalisation has work to do
    return module


def _weight_normed() -> torch.nn.Module:
    return torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear(3, 2).double())


MODULE_CALLS: tuple[ModuleCall, ...] = (
    ModuleCall("torch.nn.Embedding", _big_embedding, _tokens),
    ModuleCall("torch.nn.Embedding(max_norm=1.0)", lambda: _big_embedding(max_norm=1.0), _tokens),
    ModuleCall("torch.nn.EmbeddingBag(max_norm=1.0)", lambda: torch.nn.EmbeddingBag(6, 3, max_norm=1.0).double(),
               lambda: torch.tensor([[0, 2], [3, 1]])),
    ModuleCall("torch.nn.BatchNorm1d", lambda: torch.nn.BatchNorm1d(3).double(), _features),
    ModuleCall("torch.nn.BatchNorm1d(track_running_stats=False)",
               lambda: torch.nn.BatchNorm1d(3, track_running_stats=False).double(), _features),
    ModuleCall("torch.nn.BatchNorm2d", lambda: torch.nn.BatchNorm2d(3).double(), _images),
    ModuleCall("torch.nn.InstanceNorm1d(track_running_stats=True)",
               lambda: torch.nn.InstanceNorm1d(3, track_running_stats=True).double(),
               lambda: torch.randn(2, 3, 5, dtype=torch.float64)),
    ModuleCall("torch.nn.LayerNorm", lambda: torch.nn.LayerNorm(3).double(), _features),
    ModuleCall("torch.nn.Linear", lambda: torch.nn.Linear(3, 2).double(), _features),
    ModuleCall("torch.nn.utils.parametrizations.weight_norm(torch.nn.Linear)", _weight_normed, _features),
)


@dataclass(frozen=True)
class FunctionCall:
    key: str
    # returns the tensors whose versions are watched, by name, and the call to make
    setup: Callable[[], tuple[dict[str, torch.Tensor], Callable[[], object]]]


def _embedding_call(max_norm: float | None) -> tuple[dict[str, torch.Tensor], Callable[[], object]]:
    weight = 10.0 * torch.randn(6, 3, dtype=torch.float64)
    tokens = _tokens()
    return {"input": tokens, "weight": weight}, lambda: torch.nn.functional.embedding(tokens, weight, max_norm=max_norm)


def _clip_call(clip: Callable[..., object], *args: float) -> tuple[dict[str, torch.Tensor], Callable[[], object]]:
    layer = torch.nn.Linear(3, 2).double()
    layer(_features()).pow(2).sum().mul(100.0).backward()
    grads = [p.grad for p in layer.parameters() if p.grad is not None]
    watched = {"parameters": layer.weight, "grad": grads[0]}
    return watched, lambda: clip(layer.parameters(), *args)


FUNCTION_CALLS: tuple[FunctionCall, ...] = (
    FunctionCall("torch.nn.functional.embedding", lambda: _embedding_call(None)),
    FunctionCall("torch.nn.functional.embedding(max_norm=1.0)", lambda: _embedding_call(1.0)),
    FunctionCall("torch.nn.utils.clip_grad_norm_", lambda: _clip_call(torch.nn.utils.clip_grad_norm_, 1.0)),
    FunctionCall("torch.nn.utils.clip_grad_value_", lambda: _clip_call(torch.nn.utils.clip_grad_value_, 0.01)),
)


def _column() -> torch.Tensor:
    return torch.randn(3, 1, dtype=torch.float64)


VIEW_CALLS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Tensor.expand": lambda t: t.expand(3, 4),
    "Tensor.expand_as": lambda t: t.expand_as(torch.empty(3, 4, dtype=t.dtype)),
    "torch.broadcast_to": lambda t: torch.broadcast_to(t, (3, 4)),
    "Tensor.view": lambda t: t.view(1, 3),
    "Tensor.transpose": lambda t: t.transpose(0, 1),
    "Tensor.__getitem__": lambda t: t[1:],
    "Tensor.unsqueeze": lambda t: t.unsqueeze(0),
}

# In-place calls tried on an overlapping tensor: the method and the arguments it takes.
INPLACE_CALLS: dict[str, Callable[[torch.Tensor], object]] = {
    "__setitem__": lambda t: t.__setitem__(1, 0.0),
    "abs_": lambda t: t.abs_(),
    "add_": lambda t: t.add_(1.0),
    "addcmul_": lambda t: t.addcmul_(torch.ones(3, 4, dtype=t.dtype), torch.ones(3, 4, dtype=t.dtype)),
    "clamp_": lambda t: t.clamp_(0.0, 1.0),
    "copy_": lambda t: t.copy_(torch.ones(3, 4, dtype=t.dtype)),
    "div_": lambda t: t.div_(2.0),
    "exp_": lambda t: t.exp_(),
    "fill_": lambda t: t.fill_(1.0),
    "masked_fill_": lambda t: t.masked_fill_(torch.ones(3, 4, dtype=torch.bool), 0.0),
    "mul_": lambda t: t.mul_(2.0),
    "neg_": lambda t: t.neg_(),
    "pow_": lambda t: t.pow_(2),
    "relu_": lambda t: t.relu_(),
    "sigmoid_": lambda t: t.sigmoid_(),
    "sub_": lambda t: t.sub_(1.0),
    "tanh_": lambda t: t.tanh_(),
    "zero_": lambda t: t.zero_(),
}


def _versions(tensors: dict[str, torch.Tensor]) -> dict[str, int]:
    return {name: t._version for name, t in tensors.items()}


def _bumped(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return sorted(name for name in before if after[name] != before[name])


def module_writes(call: ModuleCall, training: bool) -> list[str]:
    """The parameters and buffers of ``call``'s module whose versions one forward call bumps."""
    torch.manual_seed(0)
    module = call.build()
    module.train(training)
    state = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    before = _versions(state)
    module(call.sample())
    return _bumped(before, _versions(state))


def function_writes(call: FunctionCall) -> list[str]:
    torch.manual_seed(0)
    watched, run = call.setup()
    before = _versions(watched)
    run()
    return _bumped(before, _versions(watched))


def overlaps(make: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    return bool(torch._debug_has_internal_overlap(make(_column())) == 1)


def refuses_overlap(method: Callable[[torch.Tensor], object]) -> bool:
    """Does the in-place call raise on an expanded tensor (rather than writing it)?"""
    target = _column().expand(3, 4)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # masked_fill_ warns that it is deprecated there
            method(target)
    except RuntimeError as error:
        if OVERLAP_ERROR in str(error):
            return True
        raise
    return False


def library_table(notes: list[str]) -> dict[str, Any]:
    """The ``library_inplace`` section of the op table."""
    modules = {call.key: {"train": module_writes(call, True), "eval": module_writes(call, False)} for call in MODULE_CALLS}
    functions = {call.key: function_writes(call) for call in FUNCTION_CALLS}
    views = {name: overlaps(make) for name, make in VIEW_CALLS.items()}
    refused = {name: refuses_overlap(method) for name, method in INPLACE_CALLS.items()}
    writers = sorted(k for k, v in modules.items() if v["train"] or v["eval"])
    notes.append(f"library calls that write in place: {', '.join(writers)}")
    return {"modules": modules, "functions": functions, "overlapping_views": views, "overlap_refused": refused}
