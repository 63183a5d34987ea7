"""The catalogue ``build_optable.py`` measures: *how to call* each supported torch API, nothing more.

Each entry names an API (``torch.sigmoid``, ``Tensor.__mul__``, ``torch.nn.Linear``) with its
positional parameter names and one or more sample calls; the sample arguments are specs
(``Grad``: a float64 tensor that takes part in the ``requires_grad`` patterns; ``Const``: one that
never does; ``Tensors``: a list of them) that the builder turns into tensors.  The argument
recipes for in-place methods the catalogue does not cover are here too.  Every fact about what an
API does is measured by the builder, never written down here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch


class BuildError(Exception):
    """The table cannot be trusted: introspection and experiment disagree, or a recipe is wrong."""


class NotDifferentiable(RuntimeError):
    """Autograd has no formula for this form (``acosh_``: "derivative ... is not implemented")."""


# ---------------------------------------------------------------------------------------------
# Sample arguments
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grad:
    """A float64 tensor argument that takes part in the ``requires_grad`` patterns.

    Values are uniform in ``[low, high)``; the default range is positive and below 1 so that log,
    sqrt, acos, atanh and probabilities are all defined.
    """

    shape: tuple[int, ...] = (3, 4)
    low: float = 0.2
    high: float = 0.9

    def make(self, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        values = torch.rand(self.shape, generator=generator, dtype=torch.float64)
        return values * (self.high - self.low) + self.low


@dataclass(frozen=True)
class Const:
    """A tensor argument that never requires grad (indices, masks, integer data, fixed targets)."""

    build: Callable[[], torch.Tensor]

    def make(self, seed: int) -> torch.Tensor:
        return self.build()


@dataclass(frozen=True)
class Tensors:
    """A list-of-tensors argument (``torch.cat``); its tensors require grad together."""

    items: tuple[Grad, ...]


def grad(*shape: int) -> Grad:
    return Grad(shape or (3, 4))


def index(*values: int) -> Const:
    return Const(lambda: torch.tensor(values, dtype=torch.long))


def longs(rows: list) -> Const:
    return Const(lambda: torch.tensor(rows, dtype=torch.long))


def mask(rows: list) -> Const:
    return Const(lambda: torch.tensor(rows, dtype=torch.bool))


def const(*shape: int) -> Const:
    """Float data that takes no part in the patterns (``view_as``'s shape donor)."""
    spec = grad(*shape)
    return Const(lambda: spec.make(seed=1000))


def ints(*shape: int) -> Const:
    return Const(lambda: torch.arange(1, 1 + torch.Size(shape).numel()).reshape(shape))


def bools(*shape: int) -> Const:
    return Const(lambda: torch.arange(torch.Size(shape).numel()).reshape(shape) % 3 == 0)


X = grad()  # the default (3, 4) float64 sample
ROW = grad(4)
BATCH = grad(2, 3, 4)
IMAGE = grad(1, 2, 3, 4)
MASK = mask([[True, False, True, False]] * 3)


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One concrete way to call an API: its arguments, and for modules the constructor's."""

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    init: tuple = ()
    init_kwargs: Mapping[str, Any] = field(default_factory=dict)
    train: bool = True


@dataclass(frozen=True)
class Api:
    """A Python-level API the analysis recognises.

    ``params`` are the positional parameter names (checked against torch by calling with keywords);
    a leading ``*`` marks a variadic parameter, which takes every remaining positional argument.
    """

    name: str
    kind: str
    params: tuple[str, ...]
    samples: tuple[Sample, ...]

    def also(self, *args: Any, **kwargs: Any) -> Api:
        """The same API with one more call sample (same constructor for modules)."""
        first = self.samples[0]
        extra = replace(first, args=args or first.args, kwargs=kwargs)
        return replace(self, samples=(*self.samples, extra))

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.lstrip("*") for p in self.params)

    def role(self, position: int) -> str:
        """The parameter name an argument at ``position`` binds to."""
        for i, param in enumerate(self.params):
            if param.startswith("*") and position >= i:
                return param[1:]
            if i == position:
                return param
        raise BuildError(f"{self.name}: no parameter for positional argument {position}")


def _kind_of(name: str) -> str:
    last = name.rsplit(".", 1)[1]
    if name.startswith("torch.nn.") and not name.startswith("torch.nn.functional.") and last[0].isupper():
        return "module"
    if name.startswith("Tensor.__"):
        return "operator"
    return "method" if name.startswith("Tensor.") else "function"


def call(name: str, params: str, *args: Any, **kwargs: Any) -> Api:
    """A function, method or operator, called as ``api(*args, **kwargs)`` (methods get ``self`` first)."""
    return Api(name, _kind_of(name), tuple(params.split()), (Sample(args, kwargs),))


def factory(name: str, params: str, *args: Any, **kwargs: Any) -> Api:
    """An API that returns a fresh tensor which does not require grad."""
    return replace(call(name, params, *args, **kwargs), kind="factory")


def module(
    name: str,
    *args: Any,
    init: tuple = (),
    params: str = "input",
    modes: tuple[str, ...] = ("train",),
    **init_kwargs: Any,
) -> Api:
    """A ``torch.nn`` module: ``name(*init, **init_kwargs)`` then called on ``args``, in each mode."""
    samples = tuple(Sample(args, {}, init, init_kwargs, train=(mode == "train")) for mode in modes)
    return Api(name, "module", tuple(params.split()), samples)


def _unary(names: str, prefix: str, params: str) -> list[Api]:
    return [call(f"{prefix}{n}", params, X) for n in names.split()]


UNARY = "abs neg exp expm1 log log1p sqrt rsqrt reciprocal sin cos tan tanh sigmoid erf square floor round sign relu"

CATALOGUE: tuple[Api, ...] = (
    # --- torch.* functions -----------------------------------------------------------------
    *_unary(UNARY, "torch.", "input"),
    call("torch.add", "input other", X, X),
    call("torch.sub", "input other", X, X),
    call("torch.mul", "input other", X, X).also(X, 2.0),
    call("torch.div", "input other", X, X).also(X, 2.0),
    call("torch.pow", "input exponent", X, 2.0).also(X, 0.5).also(X, X),
    call("torch.maximum", "input other", X, X),
    call("torch.minimum", "input other", X, X),
    call("torch.atan2", "input other", X, X),
    call("torch.where", "condition input other", MASK, X, X),
    call("torch.lerp", "input end weight", X, X, 0.3).also(X, X, X),
    call("torch.clamp", "input min max", X, 0.3, 0.6),
    call("torch.addcmul", "input tensor1 tensor2", X, X, X),
    call("torch.addmm", "input mat1 mat2", grad(3, 2), X, grad(4, 2)),
    call("torch.sum", "input dim keepdim", X).also(X, 1),
    call("torch.mean", "input dim keepdim", X).also(X, 1),
    call("torch.prod", "input dim keepdim", X).also(X, 1),
    call("torch.max", "input dim keepdim", X).also(X, 1),
    call("torch.min", "input dim keepdim", X).also(X, 1),
    call("torch.amax", "input dim keepdim", X, 1),
    call("torch.amin", "input dim keepdim", X, 1),
    call("torch.norm", "input p dim", X),
    call("torch.std", "input dim", X).also(X, 1),
    call("torch.var", "input dim", X).also(X, 1),
    call("torch.logsumexp", "input dim keepdim", X, 1),
    call("torch.cumsum", "input dim", X, 1),
    call("torch.cumprod", "input dim", X, 1),
    call("torch.softmax", "input dim", X, 1),
    call("torch.log_softmax", "input dim", X, 1),
    call("torch.mm", "input mat2", X, grad(4, 2)),
    call("torch.matmul", "input other", X, grad(4, 2)).also(BATCH, grad(4, 2)).also(ROW, ROW),
    call("torch.bmm", "input mat2", BATCH, grad(2, 4, 3)),
    call("torch.mv", "input vec", X, ROW),
    call("torch.einsum", "equation *operands", "ij,jk->ik", X, grad(4, 2)),
    call("torch.outer", "input vec2", grad(3), ROW),
    call("torch.dot", "input tensor", ROW, ROW),
    call("torch.cat", "tensors dim", Tensors((X, X)), 0),
    call("torch.stack", "tensors dim", Tensors((X, X)), 0),
    call("torch.index_select", "input dim index", X, 1, index(0, 2)),
    call("torch.gather", "input dim index", X, 1, longs([[0, 1], [2, 3], [1, 1]])),
    call("torch.masked_fill", "input mask value", X, MASK, 0.0),
    call("torch.flatten", "input start_dim end_dim", BATCH),
    call("torch.reshape", "input shape", X, (12,)),
    call("torch.transpose", "input dim0 dim1", X, 0, 1),
    call("torch.t", "input", X),
    call("torch.permute", "input dims", BATCH, (2, 0, 1)),
    call("torch.squeeze", "input dim", grad(3, 1, 4)),
    call("torch.unsqueeze", "input dim", X, 0),
    call("torch.narrow", "input dim start length", X, 1, 1, 2),
    call("torch.select", "input dim index", X, 0, 1),
    call("torch.unbind", "input dim", X),
    call("torch.split", "tensor split_size_or_sections dim", X, 2, 1),
    call("torch.chunk", "input chunks dim", X, 2, 1),
    call("torch.tensor_split", "input sections dim", X, 2, 1),
    call("torch.clone", "input", X),
    call("torch.detach", "input", X),
    call("torch.as_tensor", "data dtype", X),
    call("torch.argmax", "input dim keepdim", X, 1),
    call("torch.argmin", "input dim keepdim", X, 1),
    call("torch.eq", "input other", X, X),
    call("torch.lt", "input other", X, X),
    call("torch.gt", "input other", X, X),
    call("torch.isnan", "input", X),
    call("torch.nonzero", "input", X),
    # --- factories ---------------------------------------------------------------------------
    factory("torch.zeros", "*size", 3, 4),
    factory("torch.ones", "*size", 3, 4),
    factory("torch.empty", "*size", 3, 4),
    factory("torch.full", "size fill_value", (3, 4), 0.5),
    factory("torch.randn", "*size", 3, 4),
    factory("torch.rand", "*size", 3, 4),
    factory("torch.randint", "low high size", 0, 5, (3, 4)),
    factory("torch.arange", "start end step", 0, 5),
    factory("torch.linspace", "start end steps", 0.0, 1.0, 5),
    factory("torch.eye", "n m", 3),
    factory("torch.tensor", "data", [1.0, 2.0]),
    factory("torch.zeros_like", "input", X),
    factory("torch.ones_like", "input", X),
    factory("torch.empty_like", "input", X),
    factory("torch.full_like", "input fill_value", X, 0.5),
    factory("torch.rand_like", "input", X),
    factory("torch.randn_like", "input", X),
    factory("Tensor.new_zeros", "self size", X, (2, 3)),
    factory("Tensor.new_ones", "self size", X, (2, 3)),
    factory("Tensor.new_empty", "self size", X, (2, 3)),
    factory("Tensor.new_full", "self size fill_value", X, (2, 3), 0.5),
    factory("Tensor.new_tensor", "self data", X, [1.0, 2.0]),
    # --- Tensor methods ----------------------------------------------------------------------
    *_unary(UNARY, "Tensor.", "self"),
    call("Tensor.add", "self other", X, X),
    call("Tensor.sub", "self other", X, X),
    call("Tensor.mul", "self other", X, X).also(X, 2.0),
    call("Tensor.div", "self other", X, X).also(X, 2.0),
    call("Tensor.pow", "self exponent", X, 2.0).also(X, X),
    call("Tensor.clamp", "self min max", X, 0.3, 0.6),
    call("Tensor.lerp", "self end weight", X, X, 0.3),
    call("Tensor.sum", "self dim keepdim", X).also(X, 1),
    call("Tensor.mean", "self dim keepdim", X).also(X, 1),
    call("Tensor.max", "self dim keepdim", X).also(X, 1),
    call("Tensor.min", "self dim keepdim", X).also(X, 1),
    call("Tensor.amax", "self dim keepdim", X, 1),
    call("Tensor.norm", "self p dim", X),
    call("Tensor.std", "self dim", X),
    call("Tensor.var", "self dim", X),
    call("Tensor.logsumexp", "self dim keepdim", X, 1),
    call("Tensor.softmax", "self dim", X, 1),
    call("Tensor.log_softmax", "self dim", X, 1),
    call("Tensor.cumsum", "self dim", X, 1),
    call("Tensor.cumprod", "self dim", X, 1),
    call("Tensor.matmul", "self other", X, grad(4, 2)),
    call("Tensor.mm", "self mat2", X, grad(4, 2)),
    call("Tensor.argmax", "self dim keepdim", X, 1),
    call("Tensor.eq", "self other", X, X),
    call("Tensor.lt", "self other", X, X),
    call("Tensor.isnan", "self", X),
    call("Tensor.nonzero", "self", X),
    call("Tensor.view", "self *size", X, 12),
    call("Tensor.view_as", "self other", X, const(12)),
    call("Tensor.reshape", "self *shape", X, 12),
    call("Tensor.reshape_as", "self other", X, const(12)),
    call("Tensor.transpose", "self dim0 dim1", X, 0, 1),
    call("Tensor.t", "self", X),
    call("Tensor.permute", "self *dims", BATCH, 2, 0, 1),
    call("Tensor.squeeze", "self dim", grad(3, 1, 4)),
    call("Tensor.unsqueeze", "self dim", X, 0),
    call("Tensor.expand", "self *size", grad(1, 4), 3, 4),
    call("Tensor.expand_as", "self other", grad(1, 4), const(3, 4)),
    call("Tensor.repeat", "self *repeats", X, 2, 1),
    call("Tensor.narrow", "self dim start length", X, 1, 1, 2),
    call("Tensor.select", "self dim index", X, 0, 1),
    call("Tensor.diagonal", "self offset dim1 dim2", X),
    call("Tensor.unfold", "self dimension size step", X, 1, 2, 1),
    call("Tensor.flatten", "self start_dim end_dim", BATCH),
    call("Tensor.contiguous", "self memory_format", X),
    call("Tensor.detach", "self", X),
    call("Tensor.clone", "self", X),
    call("Tensor.to", "self dtype", X, torch.float64).also(X, torch.float32),
    call("Tensor.float", "self", X),
    call("Tensor.double", "self", X),
    call("Tensor.type_as", "self other", X, const()),
    call("Tensor.unbind", "self dim", X),
    call("Tensor.split", "self split_size dim", X, 2, 1),
    call("Tensor.chunk", "self chunks dim", X, 2, 1),
    call("Tensor.tensor_split", "self sections dim", X, 2, 1),
    call("Tensor.masked_fill", "self mask value", X, MASK, 0.0),
    call("Tensor.masked_select", "self mask", X, MASK),
    call("Tensor.index_select", "self dim index", X, 1, index(0, 2)),
    call("Tensor.gather", "self dim index", X, 1, longs([[0, 1], [2, 3], [1, 1]])),
    call("Tensor.index_put", "self indices values accumulate", X, (index(0, 2),), grad(2, 4)),
    call("Tensor.index_add", "self dim index source", X, 0, index(0, 2), grad(2, 4)),
    call("Tensor.scatter", "self dim index src", X, 1, longs([[0, 1], [2, 3], [1, 0]]), grad(3, 2)),
    call("Tensor.scatter_add", "self dim index src", X, 1, longs([[0, 1], [2, 3], [1, 0]]), grad(3, 2)),
    call("Tensor.where", "self condition other", X, MASK, X),
    call("Tensor.size", "self dim", X),
    call("Tensor.dim", "self", X),
    call("Tensor.numel", "self", X),
    call("Tensor.item", "self", grad(1)),
    call("Tensor.tolist", "self", X),
    # --- operators ---------------------------------------------------------------------------
    call("Tensor.__add__", "self other", X, X),
    call("Tensor.__radd__", "self other", X, 2.0),
    call("Tensor.__sub__", "self other", X, X),
    call("Tensor.__rsub__", "self other", X, 2.0),
    call("Tensor.__mul__", "self other", X, X),
    call("Tensor.__rmul__", "self other", X, 2.0),
    call("Tensor.__truediv__", "self other", X, X),
    call("Tensor.__rtruediv__", "self other", X, 2.0),
    call("Tensor.__floordiv__", "self other", X, X),
    call("Tensor.__mod__", "self other", X, X),
    call("Tensor.__pow__", "self exponent", X, 2.0).also(X, X),
    call("Tensor.__rpow__", "self other", X, 2.0),
    call("Tensor.__matmul__", "self other", X, grad(4, 2)),
    call("Tensor.__rmatmul__", "self other", grad(4, 2), X),
    call("Tensor.__neg__", "self", X),
    call("Tensor.__abs__", "self", X),
    call("Tensor.__getitem__", "self indices", X, slice(1, 3)).also(X, 1).also(X, index(0, 2)).also(X, MASK),
    call("Tensor.__lt__", "self other", X, X),
    call("Tensor.__le__", "self other", X, X),
    call("Tensor.__gt__", "self other", X, X),
    call("Tensor.__ge__", "self other", X, X),
    call("Tensor.__eq__", "self other", X, X),
    call("Tensor.__ne__", "self other", X, X),
    # --- torch.nn.functional ---------------------------------------------------------------
    *_unary(
        "relu relu6 elu selu celu gelu silu mish leaky_relu softplus hardtanh hardsigmoid hardswish logsigmoid "
        "sigmoid tanh softsign tanhshrink",
        "torch.nn.functional.",
        "input",
    ),
    call("torch.nn.functional.threshold", "input threshold value", X, 0.5, 0.0),
    call("torch.nn.functional.softmax", "input dim", X, 1),
    call("torch.nn.functional.log_softmax", "input dim", X, 1),
    call("torch.nn.functional.glu", "input dim", X, 1),
    call("torch.nn.functional.prelu", "input weight", X, grad(1)),
    call("torch.nn.functional.dropout", "input p training", X, 0.5).also(X, 0.5, False),
    call("torch.nn.functional.linear", "input weight bias", X, grad(2, 4), grad(2)),
    call("torch.nn.functional.bilinear", "input1 input2 weight bias", X, grad(3, 3), grad(2, 4, 3), grad(2)),
    call("torch.nn.functional.conv1d", "input weight bias", grad(1, 2, 4), grad(3, 2, 2), grad(3)),
    call("torch.nn.functional.conv2d", "input weight bias", IMAGE, grad(3, 2, 2, 2), grad(3)),
    call("torch.nn.functional.max_pool2d", "input kernel_size", IMAGE, 2),
    call("torch.nn.functional.avg_pool2d", "input kernel_size", IMAGE, 2),
    call("torch.nn.functional.adaptive_avg_pool2d", "input output_size", IMAGE, 1),
    call("torch.nn.functional.layer_norm", "input normalized_shape weight bias", X, (4,), ROW, ROW),
    call(
        "torch.nn.functional.batch_norm",
        "input running_mean running_var weight bias training",
        X,
        Const(lambda: torch.zeros(4, dtype=torch.float64)),
        Const(lambda: torch.ones(4, dtype=torch.float64)),
        ROW,
        ROW,
        True,
    ),
    call("torch.nn.functional.group_norm", "input num_groups weight bias", X, 2, ROW, ROW),
    call(
        "torch.nn.functional.instance_norm",
        "input running_mean running_var weight bias",
        IMAGE,
        weight=grad(2),
        bias=grad(2),
    ),
    call("torch.nn.functional.normalize", "input p dim", X),
    call("torch.nn.functional.cosine_similarity", "x1 x2 dim", X, X),
    call("torch.nn.functional.embedding", "input weight", index(0, 2), grad(5, 3)),
    call("torch.nn.functional.one_hot", "tensor num_classes", index(0, 2), 3),
    call("torch.nn.functional.pad", "input pad", X, (1, 1)),
    call("torch.nn.functional.interpolate", "input size scale_factor", IMAGE, scale_factor=2.0).also(
        IMAGE, scale_factor=2.0, mode="bilinear"
    ),
    call("torch.nn.functional.mse_loss", "input target", X, X),
    call("torch.nn.functional.l1_loss", "input target", X, X),
    call("torch.nn.functional.smooth_l1_loss", "input target", X, X),
    call("torch.nn.functional.kl_div", "input target", X, X),
    call("torch.nn.functional.cross_entropy", "input target", X, index(0, 2, 1)),
    call("torch.nn.functional.nll_loss", "input target", X, index(0, 2, 1)),
    call("torch.nn.functional.binary_cross_entropy", "input target", X, X),
    call("torch.nn.functional.binary_cross_entropy_with_logits", "input target", X, X),
    # --- torch.nn modules --------------------------------------------------------------------
    module("torch.nn.Linear", X, init=(4, 2)),
    module("torch.nn.Bilinear", X, grad(3, 3), init=(4, 3, 2), params="input1 input2"),
    module("torch.nn.Conv1d", grad(1, 2, 4), init=(2, 3, 2)),
    module("torch.nn.Conv2d", IMAGE, init=(2, 3, 2)),
    module("torch.nn.Conv3d", grad(1, 2, 3, 3, 3), init=(2, 2, 2)),
    module("torch.nn.ConvTranspose2d", IMAGE, init=(2, 3, 2)),
    module("torch.nn.BatchNorm1d", X, init=(4,), modes=("train", "eval")),
    module("torch.nn.BatchNorm2d", grad(2, 2, 3, 4), init=(2,), modes=("train", "eval")),
    module("torch.nn.LayerNorm", X, init=(4,)),
    module("torch.nn.GroupNorm", X, init=(2, 4)),
    module("torch.nn.InstanceNorm2d", IMAGE, init=(2,)),
    module("torch.nn.Embedding", index(0, 2), init=(5, 3)),
    module("torch.nn.PReLU", X),
    *[
        module(f"torch.nn.{name}", X)
        for name in (
            "ReLU ReLU6 LeakyReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh Hardtanh Hardswish Hardsigmoid "
            "Softplus Softsign Tanhshrink Identity"
        ).split()
    ],
    module("torch.nn.Threshold", X, init=(0.5, 0.0)),
    module("torch.nn.Softmax", X, dim=1),
    module("torch.nn.LogSoftmax", X, dim=1),
    module("torch.nn.Dropout", X, modes=("train", "eval")),
    module("torch.nn.Dropout2d", IMAGE, modes=("train", "eval")),
    module("torch.nn.MaxPool2d", IMAGE, init=(2,)),
    module("torch.nn.AvgPool2d", IMAGE, init=(2,)),
    module("torch.nn.AdaptiveAvgPool2d", IMAGE, init=(1,)),
    module("torch.nn.Flatten", BATCH),
    module("torch.nn.MSELoss", X, X, params="input target"),
    module("torch.nn.L1Loss", X, X, params="input target"),
    module("torch.nn.SmoothL1Loss", X, X, params="input target"),
    module("torch.nn.CrossEntropyLoss", X, index(0, 2, 1), params="input target"),
    module("torch.nn.NLLLoss", X, index(0, 2, 1), params="input target"),
    module("torch.nn.BCELoss", X, X, params="input target"),
    module("torch.nn.BCEWithLogitsLoss", X, X, params="input target"),
)

# Argument recipes tried, in order, on in-place methods the catalogue does not cover: scalars
# before tensors, so that ``saves`` describes the common call (``x.pow_(2)``, not ``x.pow_(t)``).
GENERIC_INPLACE_SAMPLES: tuple[Sample, ...] = tuple(
    Sample(args)
    for args in (
        (X,),
        (X, 0.5),
        (X, 1),
        (X, X),
        (X, 0.5, 0.5),
        (X, X, 0.5),
        (X, X, X),
        (ints(3, 4),),
        (ints(3, 4), 2),
        (ints(3, 4), ints(3, 4)),
        (bools(3, 4),),
        (bools(3, 4), bools(3, 4)),
    )
)

# In-place methods whose arguments no generic recipe guesses (and no catalogue entry provides).
SPECIFIC_INPLACE_SAMPLES: Mapping[str, tuple[Sample, ...]] = {
    name: (Sample(args),)
    for name, args in {
        "addbmm_": (X, BATCH, grad(2, 4, 4)),
        "addcdiv_": (X, X, X),
        "addmm_": (X, grad(3, 2), grad(2, 4)),
        "addmv_": (grad(3), X, ROW),
        "addr_": (X, grad(3), ROW),
        "as_strided_": (X, (2, 2), (1, 2)),
        "baddbmm_": (BATCH, BATCH, grad(2, 4, 4)),
        "copy_": (X, X),
        "fill_diagonal_": (X, 0.5),
        "index_copy_": (X, 0, index(0, 2), grad(2, 4)),
        "index_fill_": (X, 1, index(0, 2), 0.5),
        "index_reduce_": (X, 0, index(0, 2), grad(2, 4), "prod"),
        "map_": (X, X, lambda a, b: a + b),
        "map2_": (X, X, X, lambda a, b, c: a + b + c),
        "apply_": (X, lambda a: a + 1),
        "masked_scatter_": (X, MASK, X),
        "put_": (X, index(0, 5), grad(2)),
        "renorm_": (X, 2, 0, 0.5),
        "resize_": (X, 2, 6),
        "resize_as_": (X, grad(2, 6)),
        "scatter_reduce_": (X, 1, longs([[0, 1], [2, 3], [1, 0]]), grad(3, 2), "sum"),
        "set_": (X, grad(2, 6)),
        "swapaxes_": (X, 0, 1),
        "swapdims_": (X, 0, 1),
        "transpose_": (X, 0, 1),
        "unsqueeze_": (X, 0),
    }.items()
}
