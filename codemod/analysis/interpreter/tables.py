"""The name tables the interpreter's rules test: members of torch read off the op table, and its own.

What torch members give back is measured on torch into the op table (``tensor_methods``,
``tensor_attributes``, ``module_methods``, ``module_attributes``, ``factories``: see
``scripts/optable_members.py``); ``MemberSets`` turns those results into the name sets the rules
test, once per table.  What stays written down here is gradsafe's own: the few names it treats
otherwise than their torch result says, Python builtins it sees through, the loop bound, and the
spelling of Python's operators (``ast.Add`` -> ``__add__``, ``+``, ``add_``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from collections.abc import Mapping

from gradsafe.analysis.optable import OpTable

MAX_LOOP_ITERATIONS = 4

# Results of a tensor method (op table, ``tensor_methods``) through which no gradient flows.
_NO_GRAD_RESULTS = frozenset({"value", "shares_memory", "no_grad", "zero_grad"})
# gradsafe's own: `x.__len__()` (an int) and `x.type()` (a str) are treated like a tensor that does
# not require grad rather than as a plain value, as they always have been.
_NO_GRAD_TENSOR_VALUES = frozenset({"__len__", "type"})
# gradsafe's own: `.names` (named tensors' dimension names; torch 2.13's Tensor has no such
# attribute any more) is still read as a plain value, whatever it is read from.
_VALUE_ATTRIBUTES = frozenset({"names"})
# gradsafe's own: an `as_tensor` of another library is taken to make a fresh array (torch's own is
# in the op table: it may return its argument).
_FACTORY_NAMES = frozenset({"as_tensor"})

HARMLESS_BUILTINS = frozenset(
    {"print", "len", "isinstance", "type", "str", "repr", "format", "id", "hash", "float", "int", "bool", "range",
     "hasattr", "getattr", "callable", "min", "max", "abs", "round", "sum", "any", "all", "super", "iter", "next"}
)
ITER_BUILTINS = frozenset({"list", "tuple", "sorted", "reversed", "iter"})


@dataclass(frozen=True)
class MemberSets:
    """The member names the rules test, read off one op table (and gradsafe's own additions above)."""

    no_grad_methods: frozenset[str]  # `x.argmax()`: no gradient flows through the result
    value_methods: frozenset[str]  # ... of those, the ones giving a plain Python value (`x.item()`)
    alias_methods: frozenset[str]  # `x.contiguous()`: the tensor itself, unless a conversion is needed
    tensor_factory_methods: frozenset[str]  # `x.new_zeros(...)`: a fresh tensor
    factory_names: frozenset[str]  # `torch.zeros(...)` (and `np.zeros(...)`): a fresh tensor (or array)
    value_attributes: frozenset[str]  # `x.shape`, `m.training`: not a tensor
    view_attributes: frozenset[str]  # `x.T`: a view of the tensor
    module_self_methods: frozenset[str]  # `m.eval()`: the module itself
    parameter_methods: frozenset[str]  # `m.parameters()`: an iterator over the parameters

    @classmethod
    def of(cls, table: OpTable) -> MemberSets:
        methods = table.tensor_methods

        def having(results: Mapping[str, str], *wanted: str) -> frozenset[str]:
            return frozenset(name for name, result in results.items() if result in wanted)

        torch_factories = [name for name, info in table.ops.items() if info.kind == "factory"]
        torch_factories += having(table.factories, "fresh")
        return cls(
            no_grad_methods=having(methods, *_NO_GRAD_RESULTS),
            value_methods=having(methods, "value") - _NO_GRAD_TENSOR_VALUES,
            alias_methods=having(methods, "self", "none"),  # retain_grad() gives None: its result stands for the tensor
            tensor_factory_methods=frozenset(n[len("Tensor."):] for n in torch_factories if n.startswith("Tensor.")),
            factory_names=frozenset(n[len("torch."):] for n in torch_factories if n.count(".") == 1 and n.startswith("torch."))
            | _FACTORY_NAMES,
            value_attributes=having(table.tensor_attributes, "value") | having(table.module_attributes, "value")
            | _VALUE_ATTRIBUTES,
            view_attributes=having(table.tensor_attributes, "view"),
            module_self_methods=having(table.module_methods, "self"),
            parameter_methods=having(table.module_methods, "parameters", "named_parameters"),
        )


_SETS: dict[int, tuple[OpTable, MemberSets]] = {}


def member_sets(table: OpTable) -> MemberSets:
    """``MemberSets.of(table)``, computed once per table."""
    cached = _SETS.get(id(table))
    if cached is None or cached[0] is not table:
        cached = _SETS[id(table)] = (table, MemberSets.of(table))
    return cached[1]


BIN_OPS = {
    ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__", ast.FloorDiv: "__floordiv__",
    ast.Mod: "__mod__", ast.Pow: "__pow__", ast.MatMult: "__matmul__", ast.BitAnd: "__and__", ast.BitOr: "__or__",
    ast.BitXor: "__xor__", ast.LShift: "__lshift__", ast.RShift: "__rshift__",
}
OP_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
}
DUNDER_SYMBOLS = {f"__{v}__": s for v, s in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**"), ("matmul", "@"), ("neg", "-"))}
AUG_OPS = {k: v + "=" for k, v in OP_SYMBOLS.items()}
AUG_METHODS = {
    ast.Add: "add_", ast.Sub: "sub_", ast.Mult: "mul_", ast.Div: "div_", ast.FloorDiv: "floor_divide_",
    ast.Mod: "remainder_", ast.Pow: "pow_", ast.BitAnd: "bitwise_and_", ast.BitOr: "bitwise_or_",
    ast.BitXor: "bitwise_xor_", ast.LShift: "bitwise_left_shift_", ast.RShift: "bitwise_right_shift_",
}

