"""The members the interpreter recognises by name, measured on torch for ``build_optable.py``.

Besides what each op saves for backward, the analysis needs to know what some tensor and module
members give back: ``x.item()`` is a plain number, ``x.argmax()`` a tensor that never requires
grad, ``x.contiguous()`` usually ``x`` itself, ``x.T`` a view, ``m.train()`` the module itself.
Each fact below is measured by calling the member on the installed torch; the catalogue only says
how to call it.  The results, per section of the table:

* ``tensor_methods``: what ``x.<name>(...)`` returns for a float64 ``x`` that requires grad:
  ``"value"`` (a plain Python value: a number, bool, str, list, tuple, ``torch.Size``),
  ``"shares_memory"`` (an array or storage over the tensor's memory: ``numpy()``,
  ``untyped_storage()``), ``"no_grad"`` (a tensor that does not require grad), ``"zero_grad"`` (a
  tensor that requires grad but whose gradient is zero everywhere: ``sign()``), ``"self"`` (the
  tensor itself, when no conversion is needed), ``"none"`` (``None``: ``retain_grad()``), and
  ``"grad"`` / ``"other"`` for anything else (a tensor with a real gradient; another object).
* ``tensor_attributes``: ``"value"`` (not a tensor) or ``"view"`` (a tensor viewing ``x``).
* ``module_methods``: ``"self"`` (``m.eval()`` returns ``m``), ``"parameters"`` /
  ``"named_parameters"`` (iterators over the parameters, or over (name, parameter) pairs).
* ``module_attributes``: ``"value"`` (not a tensor).
* ``factories``: torch functions the op table leaves out that make new tensors: ``"fresh"`` (a
  tensor sharing no storage with a tensor argument, through which no gradient flows, even from
  arguments that require grad), else ``"not_fresh"``.

Two tensor methods cannot run on a torch built without CUDA (``cuda()``, ``pin_memory()``): they
are measured on a stand-in that does the same on such a torch (``cpu()``: a move to where the
tensor already is), and the build log says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy
import torch


def _grad_tensor(*shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Distinct values in [0.5, 1.5], a leaf that requires grad."""
    return torch.linspace(0.5, 1.5, steps=math.prod(shape), dtype=torch.float64).reshape(shape).to(dtype).requires_grad_()


def _matrix() -> torch.Tensor:
    return _grad_tensor(3, 4)


@dataclass(frozen=True)
class Member:
    """How to reach one member: ``receiver().<name>(*args())`` (or ``receiver().<name>`` for attributes)."""

    name: str
    receiver: Callable[[], Any] = _matrix
    args: Callable[[Any], tuple] = lambda receiver: ()
    stand_in: str | None = None  # measure this member instead where ``name`` cannot run here


def _same_shape(receiver: torch.Tensor) -> tuple:
    return (receiver.detach().clone(),)


_TENSOR_METHODS = (
    # plain values
    Member("item", receiver=lambda: _grad_tensor(1)),
    *(Member(n) for n in ("tolist", "size", "dim", "numel", "is_contiguous", "data_ptr", "stride", "storage_offset",
                          "element_size", "nelement", "ndimension", "get_device", "is_floating_point", "is_complex",
                          "__len__", "type")),
    Member("equal", args=_same_shape),
    Member("allclose", args=_same_shape),
    # memory shared with the tensor (numpy() refuses a tensor that requires grad)
    Member("numpy", receiver=lambda: _matrix().detach()),
    Member("untyped_storage"),
    # tensors without gradient
    *(Member(n) for n in ("any", "all", "nonzero", "argmax", "argmin", "argsort", "isnan", "isinf", "isfinite",
                          "sign", "bool", "long", "int")),
    *(Member(n, args=_same_shape) for n in ("eq", "ne", "lt", "le", "gt", "ge")),
    # the tensor itself when no conversion is needed
    Member("to", args=lambda receiver: (receiver.dtype,)),
    Member("float", receiver=lambda: _grad_tensor(3, 4, dtype=torch.float32)),
    Member("double"),
    Member("half", receiver=lambda: _grad_tensor(3, 4, dtype=torch.float16)),
    Member("bfloat16", receiver=lambda: _grad_tensor(3, 4, dtype=torch.bfloat16)),
    Member("cpu"),
    # where CUDA is available: a tensor already on the GPU / already pinned; elsewhere the stand-in
    Member("cuda", receiver=lambda: _matrix().cuda() if torch.cuda.is_available() else _matrix(), stand_in="cpu"),
    Member("pin_memory", receiver=lambda: _matrix().pin_memory() if torch.cuda.is_available() else _matrix(),
           stand_in="cpu"),
    Member("contiguous"),
    Member("type_as", args=lambda receiver: (receiver,)),
    Member("requires_grad_"),
    Member("retain_grad"),
)

_TENSOR_ATTRIBUTES = (
    *(Member(n) for n in ("shape", "dtype", "device", "requires_grad", "is_leaf", "ndim", "grad_fn", "is_cuda",
                          "layout", "_version", "itemsize", "nbytes", "T", "mT", "H", "mH")),
    *(Member(n, receiver=lambda: torch.randn(3, 4, dtype=torch.complex128)) for n in ("real", "imag")),
)


def _linear() -> torch.nn.Module:
    return torch.nn.Linear(2, 2)


_MODULE_METHODS = (
    *(Member(n, receiver=_linear) for n in ("train", "eval", "cpu", "float", "double", "half", "requires_grad_",
                                             "parameters", "named_parameters")),
    Member("to", receiver=_linear, args=lambda receiver: (torch.float64,)),
    Member("type", receiver=_linear, args=lambda receiver: (torch.float64,)),
    Member("apply", receiver=_linear, args=lambda receiver: (lambda module: None,)),
    # a module without parameters or buffers has nothing to move, so this runs without CUDA
    Member("cuda", receiver=torch.nn.ReLU),
)

_MODULE_ATTRIBUTES = (Member("training", receiver=_linear),)


def _probabilities() -> torch.Tensor:
    return torch.full((3,), 0.5, dtype=torch.float64, requires_grad=True)


# name -> (args, kwargs): each is called with tensor arguments that require grad where it takes any
_FACTORIES: Mapping[str, Callable[[], tuple[tuple, dict]]] = {
    "torch.bernoulli": lambda: ((_probabilities(),), {}),
    "torch.multinomial": lambda: ((_probabilities(), 2), {}),
    "torch.normal": lambda: ((0.0, 1.0, (3,)), {}),
    "torch.randint_like": lambda: ((_probabilities(), 10), {}),
    "torch.randperm": lambda: ((5,), {}),
    "torch.logspace": lambda: ((0.0, 1.0, 5), {}),
    "torch.empty_strided": lambda: (((2, 3), (3, 1)), {}),
    "torch.from_numpy": lambda: ((numpy.zeros(3),), {}),
}


def _storage_of(value: Any) -> int | None:
    if isinstance(value, torch.Tensor):
        return value.untyped_storage().data_ptr()
    if isinstance(value, torch.UntypedStorage):
        return value.data_ptr()
    if isinstance(value, numpy.ndarray):
        return value.__array_interface__["data"][0]
    return None


def _gradient_flows(result: torch.Tensor, sources: list[torch.Tensor]) -> bool:
    """Does a gradient reach any of ``sources`` through ``result`` (a zero gradient does not count)?"""
    if not result.requires_grad or not sources:
        return False
    loss = (result if result.is_floating_point() or result.is_complex() else result.double()).real.sum()
    grads = torch.autograd.grad(loss, sources, allow_unused=True)
    return any(g is not None and bool(g.any()) for g in grads)


def method_result(result: Any, receiver: Any) -> str:
    """What a tensor method returned, in the terms of the ``tensor_methods`` section."""
    if result is receiver:
        return "self"
    if result is None:
        return "none"
    if isinstance(result, torch.Tensor):
        if not result.requires_grad:
            return "no_grad"
        return "grad" if _gradient_flows(result, [receiver]) else "zero_grad"
    if _storage_of(result) is not None and _storage_of(result) == _storage_of(receiver):
        return "shares_memory"
    if isinstance(result, (bool, int, float, complex, str, list, tuple)):  # torch.Size is a tuple
        return "value"
    return "other"


def attribute_result(result: Any, receiver: Any) -> str:
    if not isinstance(result, torch.Tensor):
        return "value"
    return "view" if result._base is receiver or _storage_of(result) == _storage_of(receiver) else "other"


def module_method_result(result: Any, receiver: torch.nn.Module) -> str:
    if result is receiver:
        return "self"
    items = list(result) if hasattr(result, "__next__") else None
    if items and all(isinstance(i, torch.nn.Parameter) for i in items):
        return "parameters"
    if items and all(isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str)
                     and isinstance(i[1], torch.nn.Parameter) for i in items):
        return "named_parameters"
    return "other"


def factory_result(name: str) -> str:
    args, kwargs = _FACTORIES[name]()
    head, *rest = name.split(".")
    function: Any = torch
    for part in rest:
        function = getattr(function, part)
    torch.manual_seed(0)
    result = function(*args, **kwargs)
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    shared = _storage_of(result) in {_storage_of(t) for t in tensors}
    fresh = isinstance(result, torch.Tensor) and not shared and not _gradient_flows(result, [t for t in tensors if t.requires_grad])
    return "fresh" if fresh else "not_fresh"


def _measure(member: Member, classify: Callable[[Any, Any], str], *, call: bool, notes: list[str]) -> str:
    name = member.name
    receiver = member.receiver()
    if member.stand_in is not None:
        try:
            getattr(receiver, name)(*member.args(receiver))
        except (RuntimeError, AssertionError) as error:  # no CUDA here
            notes.append(f"{name}() cannot run on this torch ({str(error).splitlines()[0]}): measured as {member.stand_in}()")
            name = member.stand_in
    value = getattr(receiver, name)
    result = value(*member.args(receiver)) if call else value
    return classify(result, receiver)


def members_table(notes: list[str]) -> dict[str, dict[str, str]]:
    """The five sections described above, measured on the installed torch."""
    return {
        "tensor_methods": {m.name: _measure(m, method_result, call=True, notes=notes) for m in _TENSOR_METHODS},
        "tensor_attributes": {m.name: _measure(m, attribute_result, call=False, notes=notes) for m in _TENSOR_ATTRIBUTES},
        "module_methods": {m.name: _measure(m, module_method_result, call=True, notes=notes) for m in _MODULE_METHODS},
        "module_attributes": {m.name: _measure(m, lambda r, _: "value" if not isinstance(r, torch.Tensor) else "other",
                                               call=False, notes=notes) for m in _MODULE_ATTRIBUTES},
        "factories": {name: factory_result(name) for name in _FACTORIES},
    }
