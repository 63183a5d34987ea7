"""NumPy arrays on a tensor's memory: ``t.numpy()``, ``np.asarray(t)``, and NumPy calls that write them.

The array of ``t.numpy()`` shares the tensor's storage but not its version counter, so a write
through it is invisible to autograd (GS603).  The interpreter gives such an array the tensor's
storages with ``Alias.NUMPY``; the ordinary write syntax (``a[i] = v``, ``a *= s``) then reaches the
judge as a write through that alias, and so do the NumPy calls below that write an argument.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from gradsafe.analysis.mutations import Form
from gradsafe.analysis.values import UNKNOWN, Alias, Kind, Producer, Ref, State, Tri

if TYPE_CHECKING:
    from gradsafe.analysis.context import ModuleContext

# NumPy functions that return an array on their argument's memory when it is a CPU tensor.
SHARING_FUNCTIONS = frozenset({"numpy.asarray", "numpy.asanyarray"})
# NumPy functions that write their first argument (besides any function's `out=`).
WRITING_FUNCTIONS = frozenset({"numpy.copyto", "numpy.put", "numpy.place", "numpy.putmask", "numpy.fill_diagonal"})


def numpy_view(tensor: Ref, op: str, span_node: ast.AST, ctx: ModuleContext) -> Ref:
    """The array of ``tensor.numpy()``: the same storages, seen through NumPy."""
    return tensor.with_(alias=Alias.NUMPY, grad=Tri.NO, producer=Producer(op, ctx.span(span_node)))


class NumpyCalls:
    """NumPy calls that share or write a tensor's memory (a mixin of ``Interpreter``)."""

    ctx: ModuleContext

    def call_numpy(self, qualname: str, node: ast.Call, state: State) -> Ref | None:
        """Handle a ``numpy.*`` call that shares or writes tensor memory; ``None`` for any other."""
        if qualname in SHARING_FUNCTIONS and len(node.args) == 1 and not node.keywords:
            ref = self.eval(node.args[0], state)  # type: ignore[attr-defined]
            if ref.kind is Kind.TENSOR and ref.sids and ref.alias is not Alias.DATA:
                return numpy_view(ref, f"{qualname.replace('numpy.', 'np.')}()", node, self.ctx)
            return UNKNOWN
        written: list[tuple[str, ast.expr]] = [("out=", k.value) for k in node.keywords if k.arg == "out"]
        if qualname in WRITING_FUNCTIONS and node.args:
            written.append((qualname.rsplit(".", 1)[-1], node.args[0]))
        if not written:
            return None
        args, kwargs = self.eval_args(node, state)  # type: ignore[attr-defined]
        for op, target_node in written:
            target = self.eval(target_node, state)  # type: ignore[attr-defined]
            if target.alias is Alias.NUMPY and target.sids:
                self.mutate(Form.OUT, op, node, target_node, target, state,  # type: ignore[attr-defined]
                            operands=[], operand_nodes=[])
        return UNKNOWN
