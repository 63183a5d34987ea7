"""Calls: dispatch on what is called, calls of in-file functions (through their summaries), backward.

``expr_Call`` sends a call to the torch API rules (``torch_api``), to the module rules
(``modules``), to an in-file function's summary, or through a few Python builtins; anything else is
an unknown call, to which its arguments escape.  ``.backward()`` and ``torch.autograd.grad``
release the pending saves (``on_backward``).
"""

from __future__ import annotations

import ast
from dataclasses import replace

from gradsafe.analysis.interpreter.base import InterpreterBase
from gradsafe.analysis.autograd_functions import FunctionFacts, function_facts
from gradsafe.analysis.interpreter.syntax import truthy
from gradsafe.analysis.interpreter.tables import HARMLESS_BUILTINS, ITER_BUILTINS
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import UNKNOWN, VALUE, Alias, Kind, ModuleInfo, Producer, Ref, Save, State, Storage, Tri, View


# `range(...)`: a sequence of ints, so that `x[i]` for its elements is basic indexing (a view).
RANGE = Ref(Kind.SEQUENCE, element=VALUE)


class CallRules(InterpreterBase):
    """Call dispatch, argument evaluation, in-file functions, backward (a mixin of ``Interpreter``)."""

    # ------------------------------------------------------------------ calls
    def expr_Call(self, node: ast.Call, state: State, bound_to: str | None = None) -> Ref:
        func = node.func
        qualname = self.ctx.imports.resolve(func)
        if qualname is not None and not (isinstance(func, ast.Name) and func.id in state.env):
            return self.call_api(qualname, node, state, bound_to)
        if (isinstance(func, ast.Attribute) and func.attr == "apply" and isinstance(func.value, ast.Name)
                and func.value.id not in state.env):
            facts = function_facts(self.ctx, func.value.id)
            if facts is not None:
                return self.call_function_apply(func.value.id, facts, node, state)
        if isinstance(func, ast.Attribute):
            held = state.env.get(dotted(func) or "")
            if held is not None and held.kind is Kind.MODULE:  # self.act(x): call the module held there
                return self.call_module(held, node, state, bound_to)
            receiver = self.eval(func.value, state)
            return self.call_method(receiver, func.attr, node, state, bound_to)
        if isinstance(func, ast.Name):
            local = state.env.get(func.id)
            if local is not None and local.kind is Kind.MODULE:
                return self.call_module(local, node, state, bound_to)
            if local is None and (func.id in self.ctx.functions or func.id in self.ctx.classes):
                return self.call_user(func.id, node, state, bound_to)
            if local is None and func.id in ITER_BUILTINS and node.args:
                ref = self.eval(node.args[0], state)
                if ref.known_tensor:
                    return Ref(Kind.SEQUENCE, element=self.element_of(ref, node.args[0]))
                return ref if ref.kind in (Kind.PARAMS, Kind.SEQUENCE) else UNKNOWN
            if local is None and func.id == "zip":
                refs = [self.eval(a, state) for a in node.args]
                elements = [self.element_of(r, a) if r.known_tensor else r.element for r, a in zip(refs, node.args)]
                if refs and any(e is not None for e in elements):
                    pair = Ref(Kind.SEQUENCE, items=tuple(e or UNKNOWN for e in elements))
                    kind = Kind.PARAMS if any(r.kind is Kind.PARAMS for r in refs) else Kind.SEQUENCE
                    return Ref(kind, element=pair)
                return Ref(Kind.SEQUENCE)
            if local is None and func.id == "enumerate" and node.args:
                ref = self.eval(node.args[0], state)
                if ref.known_tensor:
                    return Ref(Kind.SEQUENCE, element=Ref(Kind.SEQUENCE, items=(VALUE, self.element_of(ref, node.args[0]))))
                if ref.element is not None:
                    return Ref(ref.kind, element=Ref(Kind.SEQUENCE, items=(VALUE, ref.element)))
                return Ref(Kind.SEQUENCE)
            if local is None and func.id in HARMLESS_BUILTINS:
                if func.id == "getattr" and len(node.args) >= 2:
                    obj = self.eval(node.args[0], state)
                    target = self.ctx.imports.resolve(node.args[0])
                    if target in ("torch.nn",):
                        return Ref(Kind.FUNCTION, function="torch.nn.?")
                    return UNKNOWN if obj.kind is not Kind.MODULE else UNKNOWN
                for arg in node.args:
                    self.eval(arg, state)
                for kw in node.keywords:
                    self.eval(kw.value, state)
                if func.id == "range":
                    return RANGE  # its elements are ints: `x[i]` is a view, not a gather
                return VALUE if func.id not in ("min", "max", "sum", "abs", "round", "next", "iter", "getattr", "super") else UNKNOWN
        callee = self.eval(func, state)
        if callee.kind is Kind.MODULE:
            return self.call_module(callee, node, state, bound_to)
        if callee.kind is Kind.FUNCTION and callee.function == "torch.nn.?":
            return self.construct_module(None, node, state)
        if callee.kind is Kind.FUNCTION and callee.function in self.ctx.functions:
            return self.call_user(callee.function, node, state, bound_to)
        return self.call_unknown(node, state)

    def eval_args(self, node: ast.Call, state: State) -> tuple[list[Ref], dict[str, Ref]]:
        args = []
        for a in node.args:
            ref = self.eval(a.value if isinstance(a, ast.Starred) else a, state)
            args.append(UNKNOWN if isinstance(a, ast.Starred) else ref)
        kwargs = {}
        for kw in node.keywords:
            ref = self.eval(kw.value, state)
            if kw.arg is not None:
                kwargs[kw.arg] = ref
        return args, kwargs

    def call_unknown(self, node: ast.Call, state: State) -> Ref:
        args, kwargs = self.eval_args(node, state)
        for ref in list(args) + list(kwargs.values()):
            self.mark_escaped(ref, state)
        return UNKNOWN


    # --- in-file functions
    def call_user(self, qualname: str, node: ast.Call, state: State, bound_to: str | None, self_ref: Ref | None = None) -> Ref:
        if qualname in self.ctx.classes:
            self.eval_args(node, state)
            bases = self.ctx.class_bases(qualname)
            if self.ctx.find_method(qualname, "forward") or any(b.startswith("torch.nn") for b in bases):
                return Ref(Kind.MODULE, module=ModuleInfo(api=None, user_class=qualname, site=self.ctx.span(node)))
            return UNKNOWN
        func = self.ctx.functions.get(qualname)
        args, kwargs = self.eval_args(node, state)
        if self.judge is not None:
            passed = Tri.any(r.grad for r in list(args) + list(kwargs.values()) if r.is_tensorish)
            seen = self.ctx.call_grads.get(qualname)
            self.ctx.call_grads[qualname] = passed if seen is None else Tri.any([seen, passed])
        summary = self.ctx.summary(qualname) if func is not None else None
        if summary is None:
            for ref in args + list(kwargs.values()):
                self.mark_escaped(ref, state)
            return UNKNOWN
        bound: dict[str, tuple[Ref, ast.expr]] = {}
        for name, ref, arg_node in zip(summary.params, args, node.args):
            bound[name] = (ref, arg_node)
        for kw in node.keywords:
            if kw.arg in summary.params:
                bound[kw.arg] = (kwargs[kw.arg], kw.value)
        # The helper's writes hit what the caller saved before the call; what the helper itself saves
        # and then overwrites is reported inside the helper.
        for param, (span, op, grad_on) in summary.mutated.items():
            if param in bound and bound[param][0].is_tensorish:
                ref, arg_node = bound[param]
                through = summary.unbound.get(param)
                if through is not None and ref.known_tensor and ref.view is not View.MULTI:
                    # The helper iterates the tensor and writes its rows: outputs of `unbind`.
                    ref = ref.with_(view=View.MULTI, producer=through)
                if param in summary.numpy_written:
                    ref = ref.with_(alias=Alias.NUMPY)  # the helper writes a NumPy view of it
                self.mutate(Form.HELPER, qualname, node, arg_node, ref, state, operands=[], operand_nodes=[],
                            helper=qualname, helper_span=span, method=op, bound_to=bound_to, grad_on=grad_on)
        for param, saves in summary.saved.items():
            if param in bound and bound[param][0].sids and self.grad_on:
                for save in saves:
                    state.add_save(bound[param][0].sids, replace(save, via=save.via or qualname))
        if summary.returns_param is not None and summary.returns_param in bound:
            return bound[summary.returns_param][0]
        if summary.returns_tensor:
            span = self.ctx.span(node)
            sid = self.ctx.site_id(("call", span))
            saves = frozenset(replace(s, via=s.via or qualname) for s in summary.returns_saves) if self.grad_on else frozenset()
            state.heap[sid] = Storage(saves=saves, fresh=True, label=f"the result of `{qualname}()`", origin=span)
            grad = Tri.NO
            if self.grad_on:
                grad = summary.returns_grad
                if grad is Tri.MAYBE:
                    grad = Tri.any(r.grad for r in list(args) + list(kwargs.values()) if r.is_tensorish)
            return Ref(Kind.TENSOR, frozenset({sid}), grad=grad, producer=Producer(f"{qualname}()", span))
        return UNKNOWN if summary.returns_value else VALUE


    # --- custom autograd.Function
    def call_function_apply(self, cls: str, facts: FunctionFacts, node: ast.Call, state: State) -> Ref:
        """``F.apply(...)`` of an in-file ``torch.autograd.Function``: the inputs its ``forward`` saves
        (``save_for_backward``) or keeps on ``ctx`` are saved by the call, role ``"input"`` or
        ``"ctx"``; an input it returns (or a view of one) comes back as a view made by the call."""
        args, kwargs = self.eval_args(node, state)
        span = self.ctx.span(node)
        bound = dict(zip(facts.params, args))
        bound.update((k, v) for k, v in kwargs.items() if k in facts.params)
        grads = [r.grad for r in bound.values() if r.is_tensorish]
        builds = self.grad_on and any(g is not Tri.NO for g in grads)  # autograd records a node
        certain = any(g is Tri.YES for g in grads)
        op = f"{cls}.apply"
        if builds:
            for param in sorted(facts.saved):
                if param in bound and bound[param].sids:
                    state.add_save(bound[param].sids, Save(op, span, "input", certain=certain))
            for param, attr in sorted(facts.on_ctx.items()):
                if param in bound and bound[param].sids:
                    state.add_save(bound[param].sids, Save(op, span, f"ctx.{attr}", certain=certain))
        grad = Tri.any(grads) if builds else Tri.NO
        producer = Producer(f"{op}()", span)
        returned = bound.get(facts.returns_input or "")
        if returned is not None and returned.kind is Kind.TENSOR and returned.sids:
            return returned.with_(view=View.VIEW, grad=grad, producer=producer, alias=returned.alias)
        sid = self.ctx.site_id(("call", span))
        state.heap[sid] = Storage(fresh=True, label=f"the result of `{op}()`", origin=span)
        return Ref(Kind.TENSOR, frozenset({sid}), grad=grad, producer=producer)

    # ------------------------------------------------------------------ backward
    def on_backward(self, node: ast.Call, state: State) -> None:
        keeps = False
        for kw in node.keywords:
            if kw.arg in ("retain_graph", "create_graph") and truthy(kw.value):
                keeps = True
                if kw.arg == "create_graph":
                    self.higher_order = True
        if not keeps:
            state.clear_saves()
        state.backward = Tri.YES

