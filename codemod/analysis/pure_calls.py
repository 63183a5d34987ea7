"""The tensor ops that return a new tensor and change nothing, from the op table (GS601).

``gradsafe.analysis.optable`` records the out-of-place ops and, for each in-place method, its
out-of-place twin; this module derives from it the calls whose result is all they do:

* every ``Tensor.*`` method and ``torch.*`` / ``torch.nn.functional.*`` function of ``ops`` (they
  are recorded because they compute a result autograd may save; none of them mutates) but those
  whose result is a Python value (``item``, ``size``, ``tolist``: reading one as a statement is a
  device synchronisation, not a forgotten assignment);
* the out-of-place twin of every in-place method and function the table knows (``index_fill`` of
  ``index_fill_``), the twins of ``requires_grad_``-like methods that do not write data excepted;
* the tensor members ``scripts/optable_members.py`` measured to give back the tensor itself or a
  new one (``float``, ``cuda``, ``contiguous``, ``to``, ``argmax``...).

The interpreter asks ``discarded_api`` about each expression statement, so this module imports
nothing of the analysis but the op table.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from gradsafe.analysis.optable import OpTable, load

# What `optable_members.py` says a member gives back: a tensor (itself, a copy, one without grad).
_TENSOR_RESULTS = frozenset({"self", "no_grad", "zero_grad"})


@dataclass(frozen=True)
class PureCalls:
    """The tensor methods (``clamp``) and torch functions (``torch.clamp``) that return a new tensor and mutate nothing."""

    methods: frozenset[str]
    functions: frozenset[str]
    twins: dict[str, str]  # out-of-place name -> its in-place twin ("clamp" -> "clamp_"), for the message


@lru_cache(maxsize=1)
def pure_calls(table: OpTable | None = None) -> PureCalls:
    table = table or load()
    value_members = {name for name, result in table.tensor_methods.items() if result not in _TENSOR_RESULTS}
    methods: set[str] = set()
    functions: set[str] = set()
    twins: dict[str, str] = {}
    for name, info in table.ops.items():
        short_name = name.rsplit(".", 1)[1]
        if short_name.endswith("_") or short_name.startswith("_"):
            continue
        if info.kind == "method" and short_name not in value_members:
            methods.add(short_name)
        elif info.kind == "function":
            functions.add(name)
        if info.inplace_variant:
            twins[short_name] = info.inplace_variant
    for inplace in table.inplace_methods.values():
        if inplace.out_of_place and inplace.mutates_data and not inplace.out_of_place.startswith("_"):
            methods.add(inplace.out_of_place)
            twins.setdefault(inplace.out_of_place, inplace.name)
    for inplace_name, out_of_place in table.inplace_functions.items():
        if not out_of_place.rsplit(".", 1)[1].startswith("_"):
            functions.add(out_of_place)
            twins.setdefault(out_of_place.rsplit(".", 1)[1], inplace_name.rsplit(".", 1)[1])
    methods |= {name for name, result in table.tensor_methods.items() if result in _TENSOR_RESULTS and not name.endswith("_")}
    return PureCalls(frozenset(methods), frozenset(functions), twins)


def discarded_api(call: ast.Call, qualname: str | None) -> tuple[str, ast.expr] | None:
    """The op-table name of a pure call and the expression it works on, or None.

    ``qualname`` is what the callee resolves to through the file's imports (``torch.clamp``), None
    for a method call.  Only receivers that can be evaluated again without effect (a name, an
    attribute of one) are returned: the interpreter reads them before it interprets the call.
    """
    pure = pure_calls()
    func = call.func
    if qualname is not None:
        if qualname not in pure.functions:
            return None
        receiver = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "input"), None)
    elif isinstance(func, ast.Attribute) and func.attr in pure.methods:
        qualname, receiver = f"Tensor.{func.attr}", func.value
    else:
        return None
    if receiver is None or not _plain_reference(receiver):
        return None
    return qualname, receiver


def _plain_reference(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)
