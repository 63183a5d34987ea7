"""Calls of torch functions and tensor methods, through the op table.

``call_api`` handles a call of a resolved ``torch.*`` name: parameters, factories, in-place
functions (``torch.relu_``), ``out=`` and ``inplace=True`` writes, and every op the table knows,
whose saves for backward ``apply_bound`` records; ``call_method`` does the same for methods of a
tensor (``x.add_(y)`` is a write, ``x.view(...)`` a view).  Ops the table does not know give an
opaque result that may save anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from gradsafe.analysis.interpreter.base import InterpreterBase
from gradsafe.analysis.interpreter.numpy_views import numpy_view
from gradsafe.analysis.interpreter.syntax import display_op, literal_kinds, truthy
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.optable import PARAMS_TRIGGER, InplaceInfo, OpInfo
from gradsafe.analysis.values import UNKNOWN, VALUE, Alias, Kind, Producer, Ref, Save, State, Storage, Tri, View



# Parameters that take integer or boolean tensors (`scatter_add_(dim, index, src)`,
# `masked_fill_(mask, value)`, `torch.where(condition, ...)`): no gradient flows through them.
NONDIFFERENTIABLE_PARAMS = frozenset({"index", "indices", "mask", "condition"})


# Tensor methods whose result is an integer or bool tensor.
INTEGER_RESULTS = frozenset({
    "argmax", "argmin", "argsort", "bool", "int", "long", "nonzero", "eq", "ne", "gt", "ge", "lt", "le",
    "isfinite", "isinf", "isnan", "all", "any",
})
_INTEGER_DTYPES = frozenset({
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "int", "long", "short", "bool",
})


def integer_dtype(node: ast.expr) -> bool:
    """``torch.int64``, ``torch.long``, ``torch.bool`` (spelled through ``torch.``)."""
    return isinstance(node, ast.Attribute) and node.attr in _INTEGER_DTYPES and isinstance(node.value, ast.Name) \
        and node.value.id == "torch"


class TorchApiCalls(InterpreterBase):
    """Calls of torch APIs and tensor methods (a mixin of ``Interpreter``)."""

    # --- torch APIs
    def call_api(self, qualname: str, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        table = self.ctx.table
        short = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("torch.nn.init."):
            self.eval_args(node, state)
            return UNKNOWN  # init functions write under no_grad themselves
        if qualname in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
            args, kwargs = self.eval_args(node, state)
            rg = kwargs.get("requires_grad")
            leaf = Tri.YES
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value is False:
                leaf = Tri.NO
            if rg is not None and any(isinstance(k.value, ast.Constant) and k.value.value is False for k in node.keywords if k.arg == "requires_grad"):
                leaf = Tri.NO
            sid = self.ctx.site_id(("alloc", self.ctx.span(node)))
            state.heap[sid] = Storage(leaf=leaf, param=True, label=f"`{self.label(node)}`", origin=self.ctx.span(node))
            return Ref(Kind.TENSOR, frozenset({sid}), grad=leaf)
        if qualname in ("torch.autograd.grad", "torch.autograd.backward"):
            self.eval_args(node, state)
            self.on_backward(node, state)
            return Ref(Kind.SEQUENCE)
        if qualname == "torch.optim" or qualname.startswith("torch.optim."):
            self.eval_args(node, state)
            return UNKNOWN
        if qualname in self.ctx.table.inplace_functions or (short.endswith("_") and not short.endswith("__") and qualname.startswith(("torch.", "torch.nn.functional."))
                                                             and table.inplace_functions.get(qualname) is not None):
            return self.call_inplace_function(qualname, node, state, bound_to)
        if qualname.startswith("numpy."):
            handled = self.call_numpy(qualname, node, state)
            if handled is not None:
                return handled
        info = table.lookup(qualname)
        if info is not None and info.kind == "module":
            return self.construct_module(qualname, node, state)
        if info is None and qualname.startswith("torch.nn.") and short[:1].isupper() and "." not in qualname[len("torch.nn."):]:
            return self.construct_module(qualname, node, state)
        if info is not None and info.kind == "factory" or (info is None and short in self.members.factory_names and qualname.count(".") == 1):
            return self.factory(node, state)
        if info is None:
            args, kwargs = self.eval_args(node, state)
            if qualname.startswith("torch.") and not qualname.startswith(("torch.nn.", "torch.utils", "torch.distributed")) and any(r.is_tensorish for r in args):
                # An op the table does not know: it returns a tensor, and may save anything.
                return self.opaque_result(node, state, args + list(kwargs.values()))
            for ref in args + list(kwargs.values()):
                self.mark_escaped(ref, state)
            return UNKNOWN
        return self.call_op(info, node, state, bound_to)

    def factory(self, node: ast.Call, state: State) -> Ref:
        args, kwargs = self.eval_args(node, state)
        leaf = Tri.NO
        for kw in node.keywords:
            if kw.arg == "requires_grad":
                if isinstance(kw.value, ast.Constant):
                    leaf = Tri.YES if kw.value.value else Tri.NO
                else:
                    leaf = Tri.MAYBE
        sid = self.ctx.site_id(("alloc", self.ctx.span(node)))
        state.heap[sid] = Storage(leaf=leaf, fresh=True, label=f"`{self.label(node)}`", origin=self.ctx.span(node))
        dtype = next((k.value for k in node.keywords if k.arg == "dtype"), None)
        return Ref(Kind.TENSOR, frozenset({sid}), grad=leaf, integer=dtype is not None and integer_dtype(dtype))

    def opaque_result(self, node: ast.AST, state: State, inputs: Iterable[Ref]) -> Ref:
        sid = self.ctx.site_id(("opaque", self.ctx.span(node)))
        state.heap[sid] = Storage(label=f"`{self.label(node)}`")
        grad = Tri.any(r.grad for r in inputs if r.is_tensorish) if self.grad_on else Tri.NO
        return Ref(Kind.TENSOR, frozenset({sid}), grad=grad, opaque=True)

    def bind(self, info: OpInfo, node: ast.Call, args: list[Ref], kwargs: dict[str, Ref], receiver: Ref | None = None) -> dict[str, Ref]:
        params = list(info.params)
        bound: dict[str, Ref] = {}
        if receiver is not None:
            if params and params[0] == "self":
                bound["self"] = receiver
                params = params[1:]
            else:
                bound[params[0] if params else "self"] = receiver
                params = params[1:]
        for name, ref in zip(params, args):
            bound[name] = ref
        for name, ref in kwargs.items():
            bound[name] = ref
        return bound

    def call_op(self, info: OpInfo, node: ast.Call, state: State, bound_to: str | None, receiver: Ref | None = None) -> Ref:
        args, kwargs = self.eval_args(node, state)
        bound = self.bind(info, node, args, kwargs, receiver)
        if "out" in kwargs and kwargs["out"].is_tensorish:
            out_node = next(k.value for k in node.keywords if k.arg == "out")
            self.mutate(Form.OUT, "out=", node, out_node, kwargs["out"], state,
                        operands=[r for k, r in bound.items() if k != "out"], operand_nodes=list(node.args),
                        method=info.name)
            return kwargs["out"]
        inplace_kw = next((k for k in node.keywords if k.arg == "inplace"), None)
        if info.inplace_kwarg and inplace_kw is not None and truthy(inplace_kw.value):
            target_name = next((p for p in info.params if p in info.tensor_params and p in bound), None)
            if target_name is not None and bound[target_name].is_tensorish:
                target_node = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == target_name)
                display = f"{info.name.rsplit('.', 1)[-1]}(inplace=True)"
                target = bound[target_name]
                self.mutate(Form.INPLACE_KWARG, display, node, target_node, target, state,
                            operands=[r for k, r in bound.items() if k != target_name], operand_nodes=list(node.args[1:]),
                            method=info.name, bound_to=bound_to, inplace_saves=info.inplace_saves)
                return target.with_(producer=Producer(display, self.ctx.span(node)))
        return self.apply_bound(info, node, bound, state, literals=literal_kinds(info, node))

    def apply_op(self, name: str, node: ast.AST, bound: dict[str, Ref], state: State, display: str | None = None) -> Ref:
        info = self.ctx.table.lookup(name)
        if info is None:
            return self.opaque_result(node, state, bound.values())
        return self.apply_bound(info, node, bound, state, display)

    def apply_bound(self, info: OpInfo, node: ast.AST, bound: dict[str, Ref], state: State, display: str | None = None,
                    params_require_grad: bool = False, literals: dict[str, object] | None = None) -> Ref:
        """Record the saves an op makes and return its result."""
        span = self.ctx.span(node)
        op_display = display or display_op(info.name)
        if info.variants:
            kinds: dict[str, object] = {p: ("tensor" if r.is_tensorish else "value") for p, r in bound.items()}
            kinds.update(literals or {})
            info = info.for_arguments(kinds)
        inputs = [bound[p] for p in info.params if p in bound and p in info.tensor_params]
        carriers = [bound[p] for p in info.params if p in bound and p in info.tensor_params and p not in NONDIFFERENTIABLE_PARAMS]
        in_grad = Tri.any([r.grad for r in carriers if r.is_tensorish] + ([Tri.YES] if params_require_grad else []))
        records = self.grad_on and info.differentiable and in_grad is not Tri.NO
        if records:
            for param, triggers in info.saved_inputs.items():
                ref = bound.get(param)
                if ref is None or not ref.is_tensorish or not ref.sids:
                    continue
                trigger = Tri.NO
                for t in triggers:
                    if t == PARAMS_TRIGGER:
                        trigger = Tri.YES if params_require_grad else trigger
                        continue
                    tref = bound.get(t)
                    if tref is not None and tref.is_tensorish:
                        trigger = Tri.any([trigger, tref.grad])
                if trigger is not Tri.NO:
                    state.add_save(ref.sids, Save(op_display, span, "input", certain=trigger is Tri.YES))
        result_grad = in_grad if (self.grad_on and info.differentiable) else Tri.NO
        first = inputs[0] if inputs else None
        if info.view == "multi_view" and first is not None:
            view = first.with_(view=View.MULTI, grad=result_grad, producer=Producer(op_display, span))
            return Ref(Kind.SEQUENCE, element=view)
        if info.view in ("view", "detach") and first is not None and first.is_tensorish:
            if info.view == "detach":
                return first.with_(alias=Alias.DETACH, grad=Tri.NO, view=first.view, producer=Producer(op_display, span))
            return first.with_(
                view=View.VIEW if first.view is View.NONE else first.view,
                grad=result_grad if first.kind is Kind.TENSOR else first.grad,
                producer=Producer(op_display, span),
                nograd_view=first.nograd_view or (not self.grad_on and first.grad is not Tri.NO),
            )
        sid = self.ctx.site_id(("op", span, info.name))
        saves: frozenset[Save] = frozenset()
        if records and info.saves_output:
            out_grad = result_grad
            if info.output_saved_when:
                out_grad = Tri.any(bound[p].grad for p in info.output_saved_when if p in bound and bound[p].is_tensorish)
            if out_grad is not Tri.NO:
                saves = frozenset({Save(op_display, span, "output", certain=out_grad is Tri.YES)})
        state.heap[sid] = Storage(saves=saves, fresh=True, label=f"the result of `{op_display}`", origin=span)
        return Ref(Kind.TENSOR, frozenset({sid}), grad=result_grad, producer=Producer(op_display, span),
                   opaque=any(r.opaque for r in inputs))

    def call_inplace_function(self, qualname: str, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        args, kwargs = self.eval_args(node, state)
        if not node.args or not args or not args[0].is_tensorish:
            return UNKNOWN
        out_of_place = self.ctx.table.inplace_functions.get(qualname)
        info = self.ctx.table.lookup(out_of_place) if out_of_place else None
        short = qualname.rsplit(".", 1)[-1]
        self.mutate(Form.FUNCTION, short, node, node.args[0], args[0], state,
                    operands=args[1:] + list(kwargs.values()), operand_nodes=list(node.args[1:]),
                    method=qualname, bound_to=bound_to, inplace_saves=info.inplace_saves if info else None)
        return args[0].with_(producer=Producer(f"{short}()", self.ctx.span(node)))

    # --- methods
    def call_method(self, receiver: Ref, method: str, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        table = self.ctx.table
        if receiver.kind is Kind.MODULE:
            return self.call_module_method(receiver, method, node, state, bound_to)
        if receiver.kind is Kind.PARAMS:
            self.eval_args(node, state)
            return UNKNOWN
        if method == "backward":
            self.eval_args(node, state)
            self.on_backward(node, state)
            return VALUE
        if receiver.kind is Kind.FUNCTION:
            return self.call_unknown(node, state)
        if receiver.kind is Kind.SEQUENCE:
            args, kwargs = self.eval_args(node, state)
            for ref in args:
                self.mark_escaped(ref, state)
            return UNKNOWN
        if receiver.kind is Kind.VALUE:
            self.eval_args(node, state)
            return UNKNOWN
        # A tensor, or something that may be one.
        if method in self.members.parameter_methods and receiver.kind is Kind.UNKNOWN:
            self.eval_args(node, state)
            return self.params_ref(node, state, named=method == "named_parameters")
        inplace = table.inplace_method(method)
        if inplace is not None and inplace.mutates_data:
            return self.call_inplace_method(receiver, method, inplace, node, state, bound_to)
        if method == "requires_grad_":
            args, kwargs = self.eval_args(node, state)
            flag = True
            if node.args and isinstance(node.args[0], ast.Constant):
                flag = bool(node.args[0].value)
            if receiver.sids and receiver.view is View.NONE and receiver.alias is not Alias.DATA:
                state.update(receiver.sids, leaf=Tri.YES if flag else Tri.NO, label=f"`{self.label(node)}`")
            return receiver.with_(grad=Tri.YES if flag else Tri.NO)
        if method == "detach_":
            self.eval_args(node, state)
            state.update(receiver.sids, leaf=Tri.NO)
            return receiver.with_(grad=Tri.NO)
        if method == "numpy" and receiver.kind is Kind.TENSOR and receiver.sids and receiver.alias is not Alias.DATA:
            self.eval_args(node, state)
            return numpy_view(receiver, "numpy()", node, self.ctx)
        if method in self.members.no_grad_methods:
            self.eval_args(node, state)
            if method in self.members.value_methods:
                return VALUE
            return self.opaque_result(node, state, ()).with_(grad=Tri.NO, opaque=False, integer=method in INTEGER_RESULTS)
        if method in self.members.tensor_factory_methods:
            return self.factory(node, state)
        if method == "clone":
            self.eval_args(node, state)
            sid = self.ctx.site_id(("clone", self.ctx.span(node)))
            state.heap[sid] = Storage(fresh=True, label=f"`{self.label(node)}`", origin=self.ctx.span(node))
            return Ref(Kind.TENSOR, frozenset({sid}), grad=receiver.grad if self.grad_on else Tri.NO,
                       producer=Producer("clone()", self.ctx.span(node)))
        if method in self.members.alias_methods:
            self.eval_args(node, state)
            if receiver.producer is not None and receiver.producer.op in self.ctx.overlapping_view_ops:
                # `x.expand(...).contiguous()` is a copy: its elements no longer share memory (GS304)
                return receiver.with_(producer=Producer(f"{method}()", self.ctx.span(node)))
            return receiver.with_(producer=receiver.producer)
        info = table.lookup(f"Tensor.{method}")
        if info is not None:
            result = self.call_op(info, node, state, bound_to, receiver=receiver)
            if method in ("to", "type") and any(integer_dtype(a) for a in list(node.args) + [k.value for k in node.keywords]):
                # `.to(torch.long)`: a copy (or the tensor itself) of an integer type
                return result.with_(integer=True, grad=Tri.NO)
            return result
        if receiver.kind is Kind.TENSOR or receiver.sids:
            args, kwargs = self.eval_args(node, state)
            return self.opaque_result(node, state, [receiver] + args)
        return self.call_unknown(node, state)

    def call_inplace_method(self, receiver: Ref, method: str, inplace: InplaceInfo, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        args, kwargs = self.eval_args(node, state)
        target_node = node.func.value  # type: ignore[attr-defined]
        self.mutate(Form.METHOD, method, node, target_node, receiver, state,
                    operands=self.grad_operands(inplace.out_of_place, args, kwargs), operand_nodes=list(node.args) + [k.value for k in node.keywords],
                    method=method, bound_to=bound_to, inplace_saves=inplace.saves)
        self.operand_saves(method, f"{method}()", node, receiver, args, kwargs, state)
        if receiver.producer is not None and receiver.producer.iterated is not None:
            return receiver  # `row.mul_(s).add_(m)`: still the row of the iterated tensor
        return receiver.with_(producer=Producer(f"{method}()", self.ctx.span(node)))

    def operand_saves(self, method: str | None, display: str, node: ast.AST, receiver: Ref, args: list[Ref],
                      kwargs: dict[str, Ref], state: State) -> None:
        """What an in-place op keeps of its *other* operands for backward: ``h.mul_(w)`` and ``h *= w``
        save ``w`` when ``h`` requires grad, as ``h * w`` does (the written tensor itself is not kept:
        autograd copies it where its old value is needed).  In a loop, a later iteration's write to
        ``w`` is then a hazard (``curve[:, t] *= curve[:, t - 1]``)."""
        if method is None or not self.grad_on or receiver.alias is not Alias.NONE or not receiver.is_tensorish:
            return
        inplace = self.ctx.table.inplace_method(method)
        name = inplace.out_of_place if inplace is not None else None
        info = self.ctx.table.lookup(f"Tensor.{name}") if name else None
        if info is None or not info.differentiable:
            return
        bound = self.bind(info, node, args, kwargs, receiver)  # type: ignore[arg-type]
        written = info.params[0] if info.params else "self"
        span = self.ctx.span(node)
        for param, triggers in info.saved_inputs.items():
            ref = bound.get(param)
            if param == written or ref is None or not ref.is_tensorish or not ref.sids or ref.alias is Alias.DATA:
                continue
            trigger = Tri.any(bound[t].grad for t in triggers if t in bound and bound[t].is_tensorish)
            if trigger is not Tri.NO:
                state.add_save(ref.sids, Save(display, span, "input", certain=trigger is Tri.YES))

    def grad_operands(self, out_of_place: str | None, args: list[Ref], kwargs: dict[str, Ref]) -> list[Ref]:
        """The operands of an in-place method through which a gradient can flow into the target:
        all of them, less those bound to an index or mask parameter of the out-of-place op."""
        info = self.ctx.table.lookup(f"Tensor.{out_of_place}") if out_of_place else None
        if info is None:
            return args + list(kwargs.values())
        params = [p for p in info.params if p != "self"]
        kept = [r for p, r in zip(params, args) if p not in NONDIFFERENTIABLE_PARAMS] + args[len(params):]
        return kept + [r for k, r in kwargs.items() if k not in NONDIFFERENTIABLE_PARAMS]
