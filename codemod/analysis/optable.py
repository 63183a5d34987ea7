"""The op table: what each torch API saves for backward, as data generated from torch itself.

``data/optable.json`` is written by ``scripts/build_optable.py`` (run by hand, with torch
installed); this module only reads it, and never imports torch.  Keys are canonical API names:

* ``torch.sigmoid``, ``torch.nn.functional.relu`` (functions; ``torch.nn.functional`` is spelled out)
* ``Tensor.mul``, ``Tensor.__mul__``, ``Tensor.__getitem__`` (methods and operators)
* ``torch.nn.Linear``, ``torch.nn.ReLU`` (modules: the entry describes a call of the module)

Saving is conditional: ``saved_inputs["input"] == {"other"}`` means the ``input`` argument is saved
when ``other`` requires grad (``x * w`` saves ``x`` only if ``w`` requires grad).  The trigger
``"@params"`` stands for the module's own parameters, which require grad in training.

An entry describes every call of its API at once, so where calls differ it says what a call *may*
do (``x ** t`` saves its result, ``x ** 2`` does not: ``torch.pow`` may save its output).  Where the
difference shows in the source (a tensor or a plain value, an argument given or not, a literal
``training=False``), ``variants`` holds the exact facts per kind of call: see ``OpInfo.for_arguments``.

Five more sections say what members the analysis recognises by name give back, measured on torch
by ``scripts/optable_members.py``: ``tensor_methods`` (``"item"`` -> ``"value"``, ``"argmax"`` ->
``"no_grad"``, ``"contiguous"`` -> ``"self"``, ...), ``tensor_attributes`` (``"T"`` -> ``"view"``),
``module_methods`` (``"eval"`` -> ``"self"``), ``module_attributes`` and ``factories`` (torch
functions outside ``ops`` that return a fresh tensor).  That script's docstring defines each result.

``library_inplace``, measured by ``scripts/optable_library_ops.py``: which parameters and buffers a
library module's forward (``nn.Embedding(max_norm=...)``) or a library function
(``clip_grad_norm_``) bumps the version of, which views' elements share memory (``expand``) and
which in-place methods refuse such a view (``OpTable.library``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any
from collections.abc import Mapping

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
    # the index of `inplace` among the positional arguments (a module's constructor's): 1 for
    # `nn.LeakyReLU(0.2, True)` and `F.relu(x, True)`; None when it cannot be passed positionally
    inplace_position: int | None
    inplace_saves: str | None  # what the in-place form saves: "output" | "input_copy" | "nothing" | "mask"
    differentiable: bool  # False when the output never requires grad (argmax, comparisons, shape ops)
    module_params: bool  # modules: has parameters (which require grad in training)
    # params whose requiring grad makes the op save its output (saves_output == bool(this) when present)
    output_saved_when: frozenset[str] = frozenset()
    variants: tuple[OpVariant, ...] = ()  # exact facts per kind of call, where calls differ

    def saved_params(self, requiring_grad: Collection[str]) -> frozenset[str]:
        """The params (or ``"@params"``) the op saves when the params in ``requiring_grad`` require grad."""
        trigger = set(requiring_grad)
        return frozenset(param for param, triggers in self.saved_inputs.items() if triggers & trigger)

    def output_saved(self, requiring_grad: Collection[str]) -> bool:
        """Whether the op saves its output when the params in ``requiring_grad`` require grad."""
        if not self.output_saved_when:
            return self.saves_output and bool(requiring_grad)
        return bool(self.output_saved_when & set(requiring_grad))

    def for_arguments(self, arguments: Mapping[str, object]) -> OpInfo:
        """This entry narrowed to a call passing exactly ``arguments`` (param -> kind, as in ``OpVariant``).

        Without a matching variant the entry itself is the answer: its facts hold for every call.
        """
        wanted = dict(arguments)
        return next((v.info for v in self.variants if dict(v.arguments) == wanted), self)


@dataclass(frozen=True)
class OpVariant:
    """The exact facts for calls whose arguments have particular kinds (``torch.pow`` with a tensor exponent).

    ``arguments`` maps each argument the call passes to ``"tensor"``, ``"value"`` (any other
    expression), or a literal ``True``/``False``/``None``; arguments it leaves out are absent.
    ``info`` is the entry with the facts that hold for those calls (and no variants).
    """

    arguments: Mapping[str, object]
    info: OpInfo


@dataclass(frozen=True)
class InplaceInfo:
    """An in-place tensor method (``add_``) and its out-of-place counterpart."""

    name: str  # "add_"
    out_of_place: str | None  # "add", or None when there is no method of that name
    saves: str  # what the in-place op itself saves: "output" | "input_copy" | "nothing" | "mask" | "unknown"
    equivalence_checked: bool  # the generator ran both forms on sample inputs and the values agreed
    mutates_data: bool = True  # False for requires_grad_, detach_, share_memory_, retain_grad-like methods


@dataclass(frozen=True)
class LibraryInplace:
    """The ``library_inplace`` section, measured by ``scripts/optable_library_ops.py`` (its docstring
    defines each fact): writes hidden in library calls, and views whose elements share memory."""

    modules: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)  # key -> mode -> written
    functions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    overlapping_views: frozenset[str] = frozenset()  # "Tensor.expand", ...: outputs share memory between elements
    overlap_refused: frozenset[str] = frozenset()  # in-place methods that raise on such a view ("add_", "__setitem__")

    def refuses_overlap(self, method: str) -> bool:
        return method in self.overlap_refused


def _library_from_json(d: Mapping[str, Any]) -> LibraryInplace:
    return LibraryInplace(
        modules={k: {mode: tuple(w) for mode, w in v.items()} for k, v in d.get("modules", {}).items()},
        functions={k: tuple(v) for k, v in d.get("functions", {}).items()},
        overlapping_views=frozenset(k for k, v in d.get("overlapping_views", {}).items() if v),
        overlap_refused=frozenset(k for k, v in d.get("overlap_refused", {}).items() if v),
    )


@dataclass(frozen=True)
class OpTable:
    torch_version: str
    ops: Mapping[str, OpInfo]
    inplace_methods: Mapping[str, InplaceInfo]
    # torch.relu_ / torch.nn.functional.relu_ style functions -> their out-of-place function names
    inplace_functions: Mapping[str, str]
    # member name -> what it gives back (the results scripts/optable_members.py defines)
    tensor_methods: Mapping[str, str] = field(default_factory=dict)
    tensor_attributes: Mapping[str, str] = field(default_factory=dict)
    module_methods: Mapping[str, str] = field(default_factory=dict)
    module_attributes: Mapping[str, str] = field(default_factory=dict)
    factories: Mapping[str, str] = field(default_factory=dict)  # "torch.randperm" -> "fresh"
    library: LibraryInplace = field(default_factory=lambda: LibraryInplace())

    def lookup(self, name: str) -> OpInfo | None:
        return self.ops.get(name)

    def inplace_method(self, name: str) -> InplaceInfo | None:
        return self.inplace_methods.get(name)


def _op_from_json(name: str, d: dict[str, Any]) -> OpInfo:
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
        inplace_position=d.get("inplace_position"),
        inplace_saves=d.get("inplace_saves"),
        differentiable=bool(d.get("differentiable", True)),
        module_params=bool(d.get("module_params", False)),
        output_saved_when=frozenset(d.get("output_saved_when", ())),
        variants=tuple(
            # a variant overrides the facts that differ between calls; everything else is the entry's
            OpVariant(dict(v["arguments"]), _op_from_json(name, {**d, **v, "variants": ()}))
            for v in d.get("variants", ())
        ),
    )


def parse_table(data: dict[str, Any]) -> OpTable:
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
        tensor_methods=dict(data.get("tensor_methods", {})),
        tensor_attributes=dict(data.get("tensor_attributes", {})),
        module_methods=dict(data.get("module_methods", {})),
        module_attributes=dict(data.get("module_attributes", {})),
        factories=dict(data.get("factories", {})),
        library=_library_from_json(data.get("library_inplace", {})),
    )


@lru_cache(maxsize=1)
def load() -> OpTable:
    """The op table shipped with the package."""
    text = resources.files("gradsafe.analysis").joinpath("data/optable.json").read_text(encoding="utf-8")
    return parse_table(json.loads(text))
