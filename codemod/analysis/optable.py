"""The op table: what each torch API saves for backward, as data generated from torch itself.

``data/optable.json`` is written by ``scripts/build_optable.py`` (run by hand, with torch
installed); this module only reads it, and never imports torch.  Keys are canonical API names:

* ``torch.sigmoid``, ``torch.nn.functional.relu`` (functions; ``torch.nn.functional`` is spelled out)
* ``Tensor.mul``, ``Tensor.__mul__``, ``Tensor.__getitem__`` (methods and operators)
* ``torch.nn.Linear``, ``torch.nn.ReLU`` (modules: the entry describes a call of the module)

Saving is conditional: ``saved_inputs["input"] == {"other"}`` means the ``input`` argument is saved
when ``other`` requires grad (``x * w`` saves ``x`` only if ``w`` requires grad).  The trigger
``"@params"`` stands for the module's own parameters, which require grad in training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Mapping

PARAMS_TRIGGER = "@params"


@dataclass(frozen=True)
class OpInfo:
    name: str  # canonical key
    kind: str  # "function" | "method" | "operator" | "module" | "factory"
    params: tuple[str, ...]  # positional parameter names in order; methods start with "self"
    tensor_params: frozenset[str]  # which params take tensors
    saved_inputs: Mapping[str, frozenset[str]]  # param -> params whose requires_grad makes it saved
    saves_output: bool  # the (first) output is saved whenever the op records a graph
    view: str | None  # None | "view" | "multi_view" | "detach" (alias sharing the version counter)
    inplace_variant: str | None  # method name of the in-place variant ("sigmoid_"), if any
    inplace_kwarg: bool  # accepts inplace=True (F.relu, nn.ReLU)
    inplace_saves: str | None  # what the in-place form saves: "output" | "input_copy" | "nothing" | "mask"
    differentiable: bool  # False when the output never requires grad (argmax, comparisons, shape ops)
    module_params: bool  # modules: has parameters (which require grad in training)


@dataclass(frozen=True)
class InplaceInfo:
    """An in-place tensor method (``add_``) and its out-of-place counterpart."""

    name: str  # "add_"
    out_of_place: str | None  # "add", or None when there is no method of that name
    saves: str  # what the in-place op itself saves: "output" | "input_copy" | "nothing" | "mask" | "unknown"
    equivalence_checked: bool  # the generator ran both forms on sample inputs and the values agreed
    mutates_data: bool = True  # False for requires_grad_, detach_, share_memory_, retain_grad-like methods


@dataclass(frozen=True)
class OpTable:
    torch_version: str
    ops: Mapping[str, OpInfo]
    inplace_methods: Mapping[str, InplaceInfo]
    # torch.relu_ / torch.nn.functional.relu_ style functions -> their out-of-place function names
    inplace_functions: Mapping[str, str]

    def lookup(self, name: str) -> OpInfo | None:
        return self.ops.get(name)

    def inplace_method(self, name: str) -> InplaceInfo | None:
        return self.inplace_methods.get(name)


def _op_from_json(name: str, d: dict) -> OpInfo:
    return OpInfo(
        name=name,
        kind=d["kind"],
        params=tuple(d.get("params", ())),
        tensor_params=frozenset(d.get("tensor_params", ())),
        saved_inputs={k: frozenset(v) for k, v in d.get("saved_inputs", {}).items()},
        saves_output=bool(d.get("saves_output", False)),
        view=d.get("view"),
        inplace_variant=d.get("inplace_variant"),
        inplace_kwarg=bool(d.get("inplace_kwarg", False)),
        inplace_saves=d.get("inplace_saves"),
        differentiable=bool(d.get("differentiable", True)),
        module_params=bool(d.get("module_params", False)),
    )


def parse_table(data: dict) -> OpTable:
    return OpTable(
        torch_version=data["torch_version"],
        ops={k: _op_from_json(k, v) for k, v in data["ops"].items()},
        inplace_methods={
            k: InplaceInfo(
                name=k,
                out_of_place=v.get("out_of_place"),
                saves=v.get("saves", "unknown"),
                equivalence_checked=bool(v.get("equivalence_checked", False)),
                mutates_data=bool(v.get("mutates_data", True)),
            )
            for k, v in data["inplace_methods"].items()
        },
        inplace_functions=dict(data.get("inplace_functions", {})),
    )


@lru_cache(maxsize=1)
def load() -> OpTable:
    """The op table shipped with the package."""
    text = resources.files("codemod.analysis").joinpath("data/optable.json").read_text(encoding="utf-8")
    return parse_table(json.loads(text))
