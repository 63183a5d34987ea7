"""The hand-written API tables the interpreter consults besides the op table.

Operator spellings (``ast.Add`` -> ``__add__``, ``+``, ``add_``), Python builtins the analysis
sees through, and the tensor and module members whose results the interpreter classifies by name.
"""

from __future__ import annotations

import ast

MAX_LOOP_ITERATIONS = 4

# Methods that never write data even though their names end in `_`.
TENSOR_VALUE_METHODS = frozenset(
    {"item", "tolist", "size", "dim", "numel", "numpy", "is_contiguous", "data_ptr", "stride", "storage_offset",
     "element_size", "nelement", "ndimension", "get_device", "is_floating_point", "is_complex", "__len__", "equal",
     "allclose", "any", "all", "nonzero", "argmax", "argmin", "argsort", "isnan", "isinf", "isfinite", "sign",
     "eq", "ne", "lt", "le", "gt", "ge", "bool", "long", "int", "type", "untyped_storage"}
)
# Methods that return the same tensor (or an alias sharing its storage) unless a conversion is needed.
ALIAS_METHODS = frozenset({"to", "float", "double", "half", "bfloat16", "cpu", "cuda", "contiguous", "type_as", "requires_grad_", "retain_grad", "pin_memory"})
VALUE_ATTRS = frozenset(
    {"shape", "dtype", "device", "requires_grad", "is_leaf", "ndim", "grad_fn", "is_cuda", "layout", "names",
     "training", "_version", "itemsize", "nbytes"}
)
VIEW_ATTRS = frozenset({"T", "mT", "H", "mH", "real", "imag"})
FACTORIES = frozenset(
    {"zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace", "logspace",
     "eye", "tensor", "as_tensor", "from_numpy", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
     "randn_like", "randint_like", "empty_strided", "normal", "bernoulli", "multinomial"}
)
TENSOR_FACTORY_METHODS = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"})
HARMLESS_BUILTINS = frozenset(
    {"print", "len", "isinstance", "type", "str", "repr", "format", "id", "hash", "float", "int", "bool", "range",
     "hasattr", "getattr", "callable", "min", "max", "abs", "round", "sum", "any", "all", "super", "iter", "next"}
)
ITER_BUILTINS = frozenset({"list", "tuple", "sorted", "reversed", "iter"})
PARAM_METHODS = frozenset({"parameters", "named_parameters"})
MODULE_SELF_METHODS = frozenset({"train", "eval", "to", "cuda", "cpu", "float", "double", "half", "requires_grad_", "apply", "type"})


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

