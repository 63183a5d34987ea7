"""Expression rules other than calls: names, attributes, subscripts, operators, literals, comprehensions.

Each rule returns the ``Ref`` an expression evaluates to.  Attribute reads know ``.data`` (an alias
outside autograd), ``.grad``, view attributes (``.T``) and layers of ``self``; basic indexing gives a
view, advanced indexing a copy; binary operators on tensors are looked up as ``Tensor.__add__`` etc.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import replace

from gradsafe.analysis.interpreter.base import InterpreterBase
from gradsafe.analysis.interpreter.joins import join_refs
from gradsafe.analysis.interpreter.scope import Scope
from gradsafe.analysis.interpreter.tables import BIN_OPS, OP_SYMBOLS
from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import UNKNOWN, VALUE, Alias, Kind, ModuleInfo, Producer, Ref, State, Storage, Tri, View



_MEMBERSHIP_OPS = (ast.Is, ast.IsNot, ast.In, ast.NotIn)


class ExpressionRules(InterpreterBase):
    """The ``expr_*`` rules (calls aside), indexing, binary operators, iteration (a mixin of ``Interpreter``)."""

    # ------------------------------------------------------------------ expressions
    def eval(self, node: ast.expr, state: State, bound_to: str | None = None) -> Ref:
        method: Callable[..., Ref] | None = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.eval(child, state)
            return UNKNOWN
        if bound_to is not None and isinstance(node, ast.Call):
            return method(node, state, bound_to=bound_to)
        return method(node, state)

    def expr_Constant(self, node: ast.Constant, state: State) -> Ref:
        return VALUE

    def expr_JoinedStr(self, node: ast.JoinedStr, state: State) -> Ref:
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                self.eval(v.value, state)
        return VALUE

    def expr_Name(self, node: ast.Name, state: State) -> Ref:
        ref = state.env.get(node.id)
        if ref is not None:
            return ref
        if node.id in self.ctx.functions:
            return Ref(Kind.FUNCTION, function=node.id)
        if node.id in self.ctx.classes:
            return Ref(Kind.FUNCTION, function=node.id)
        if node.id in self.ctx.globals:
            g = self.ctx.global_ref(node.id, self._eval_global)
            if g is not None:
                for sid in g.sids:
                    if sid not in state.heap and sid in self.ctx.global_heap:
                        state.heap[sid] = self.ctx.global_heap[sid]
                return g
        if node.id in ("True", "False", "None"):
            return VALUE
        return UNKNOWN

    def _eval_global(self, expr: ast.expr) -> Ref:
        """Evaluate a module-level constant on its own; its storages join the file's global heap."""
        sub = type(self)(self.ctx, Scope("<module>", self.ctx.tree, None, False, False, True))
        state = State()
        ref = sub.eval(expr, state)
        self.ctx.global_heap.update(state.heap)
        return ref

    def expr_Attribute(self, node: ast.Attribute, state: State) -> Ref:
        key = dotted(node)
        if key is not None and key in state.env:
            return state.env[key]
        if node.attr in self.members.value_attributes:
            self.eval(node.value, state)
            return VALUE
        if self.ctx.imports.resolve(node) is not None:
            return UNKNOWN  # a module or class from an import
        base = self.eval(node.value, state)
        if node.attr == "data" and base.is_tensorish:
            return base.with_(alias=Alias.DATA, grad=Tri.NO, producer=Producer(".data", self.ctx.span(node)))
        if node.attr == "grad" and base.is_tensorish:
            sid = self.ctx.site_id(("grad", key or id(node)))
            state.heap.setdefault(sid, Storage(label=f"`{ast.unparse(node)}`"))
            return Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.NO)
        if node.attr in self.members.view_attributes and base.is_tensorish:
            return base.with_(view=View.VIEW if base.view is View.NONE else base.view, producer=None)
        if base.kind is Kind.MODULE and base.module is not None:
            return self.module_attribute(base.module, node, key, state)
        return UNKNOWN

    def module_attribute(self, module: ModuleInfo, node: ast.Attribute, key: str | None, state: State) -> Ref:
        if module.user_class is not None:
            info = self.ctx.class_info(module.user_class)
            if info is not None and node.attr in info.attrs:
                state.heap.update({k: v for k, v in info.heap.items() if k not in state.heap})
                return info.attrs[node.attr]
            if info is not None and (found := self.ctx.find_method(module.user_class, node.attr)):
                return Ref(Kind.FUNCTION, function=found[0])
        if module.api is not None and node.attr in ("weight", "bias") and key is not None:
            sid = self.ctx.site_id(("param", key))
            grad = Tri.NO if module.frozen else Tri.YES
            state.heap.setdefault(sid, Storage(leaf=grad, param=True, label=f"parameter `{key}`"))
            return Ref(Kind.TENSOR, frozenset({sid}), grad=grad)
        return UNKNOWN

    def expr_Subscript(self, node: ast.Subscript, state: State) -> Ref:
        base = self.eval(node.value, state)
        basic = self.eval_index(node.slice, state)
        if base.kind is Kind.SEQUENCE and base.items is not None:
            idx = node.slice
            if isinstance(idx, ast.Constant) and isinstance(idx.value, int) and -len(base.items) <= idx.value < len(base.items):
                return base.items[idx.value]
            return join_refs(base.items) if base.items else UNKNOWN
        if base.kind in (Kind.SEQUENCE, Kind.PARAMS) and base.element is not None:
            return base.element if basic or base.kind is Kind.SEQUENCE else base
        if base.kind is Kind.MODULE:
            return Ref(Kind.MODULE, module=ModuleInfo(api=None, certain=False))
        if base.is_tensorish and (base.kind is Kind.TENSOR or base.sids):
            if basic:
                return base.with_(view=View.VIEW if base.view is View.NONE else base.view, producer=None,
                                  nograd_view=base.nograd_view or (not self.grad_on and base.grad is not Tri.NO))
            sid = self.ctx.site_id(("index", self.ctx.span(node)))
            state.heap[sid] = Storage(label=f"`{self.label(node)}`")
            return Ref(Kind.TENSOR, frozenset({sid}), grad=base.grad if self.grad_on else Tri.NO)
        return UNKNOWN

    def eval_index(self, index: ast.expr, state: State) -> bool:
        """Evaluate an index expression; True when it is basic indexing (the result is a view)."""
        elts = index.elts if isinstance(index, ast.Tuple) else [index]
        basic = True
        for elt in elts:
            if isinstance(elt, ast.Slice):
                for part in (elt.lower, elt.upper, elt.step):
                    if part is not None:
                        self.eval(part, state)
            elif isinstance(elt, ast.Constant) and (isinstance(elt.value, int) or elt.value is None or elt.value is Ellipsis):
                continue
            elif isinstance(elt, ast.UnaryOp) and isinstance(elt.operand, ast.Constant):
                continue
            else:
                ref = self.eval(elt, state)
                if ref.kind is not Kind.VALUE:
                    basic = False
        return basic

    def expr_BinOp(self, node: ast.BinOp, state: State) -> Ref:
        left = self.eval(node.left, state)
        right = self.eval(node.right, state)
        # `args.tau * p.data`: a configuration value (an attribute of a name other than `self`, or
        # arithmetic on one) met with a tensor that carries no autograd history is a number; the
        # op records nothing, and saves nothing for a later write to overwrite.
        if no_history(right, node.right) and left.kind is Kind.UNKNOWN and not left.sids and is_setting(node.left):
            left = VALUE
        elif no_history(left, node.left) and right.kind is Kind.UNKNOWN and not right.sids and is_setting(node.right):
            right = VALUE
        return self.binop(node.op, left, right, node, state)

    def binop(self, op: ast.operator, left: Ref, right: Ref, node: ast.AST, state: State) -> Ref:
        name = BIN_OPS.get(type(op))
        if name is None or not (left.kind is Kind.TENSOR or right.kind is Kind.TENSOR):
            # Without a known tensor operand this is as likely arithmetic on sizes as on tensors.
            return VALUE if left.kind is Kind.VALUE and right.kind is Kind.VALUE else UNKNOWN
        if left.kind is Kind.VALUE or (not left.sids and left.kind is Kind.UNKNOWN and right.kind is Kind.TENSOR and name not in ("__matmul__",)):
            if left.kind is Kind.VALUE:
                return self.apply_op(f"Tensor.__r{name[2:]}", node, {"self": right, "other": left}, state,
                                     display=OP_SYMBOLS.get(type(op), name))
        return self.apply_op(f"Tensor.{name}", node, {"self": left, "other": right}, state,
                             display=OP_SYMBOLS.get(type(op), name))

    def expr_UnaryOp(self, node: ast.UnaryOp, state: State) -> Ref:
        operand = self.eval(node.operand, state)
        if isinstance(node.op, ast.USub) and operand.is_tensorish:
            return self.apply_op("Tensor.__neg__", node, {"self": operand}, state, display="-")
        if isinstance(node.op, ast.Not):
            return VALUE
        return operand if operand.kind is Kind.VALUE else UNKNOWN

    def expr_BoolOp(self, node: ast.BoolOp, state: State) -> Ref:
        refs = [self.eval(v, state) for v in node.values]
        return join_refs(refs)

    def expr_Compare(self, node: ast.Compare, state: State) -> Ref:
        refs = [self.eval(node.left, state)] + [self.eval(c, state) for c in node.comparators]
        if any(r.kind is Kind.TENSOR for r in refs):
            sid = self.ctx.site_id(("cmp", self.ctx.span(node)))
            state.heap[sid] = Storage(label="a comparison")
            return Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.NO, integer=True)
        if any(r.kind is Kind.UNKNOWN for r in refs) and not any(isinstance(op, _MEMBERSHIP_OPS) for op in node.ops):
            # `topk.values > 1e-5` where `topk.values` is not known to be a tensor: a bool tensor
            # or a Python bool; either way nothing that requires grad (`(...).to(dtype)` neither).
            return Ref(Kind.UNKNOWN, grad=Tri.NO)
        return VALUE

    def expr_IfExp(self, node: ast.IfExp, state: State) -> Ref:
        self.eval(node.test, state)
        opt_in = int(self.opt_in_flag(node.test))
        self.opt_in += opt_in
        try:
            body = self.eval(node.body, state)
        finally:
            self.opt_in -= opt_in
        orelse = self.eval(node.orelse, state)
        result = body.join(orelse)
        if (body.integer and dtype_unknown(orelse, state)) or (orelse.integer and dtype_unknown(body, state)):
            # `features["mask"] if "mask" in features else torch.ones(..., dtype=torch.int64)`: the
            # fallback says what the other branch holds.
            return result.with_(integer=True, grad=Tri.NO)
        return result

    def expr_NamedExpr(self, node: ast.NamedExpr, state: State) -> Ref:
        value = self.eval(node.value, state)
        self.assign(node.target, value, state, node.value)
        return value

    def expr_Tuple(self, node: ast.Tuple | ast.List, state: State) -> Ref:
        items = []
        for elt in node.elts:
            ref = self.eval(elt.value if isinstance(elt, ast.Starred) else elt, state)
            if isinstance(elt, ast.Starred):
                return Ref(Kind.SEQUENCE)
            items.append(ref)
        return Ref(Kind.SEQUENCE, items=tuple(items))

    expr_List = expr_Tuple

    def expr_Set(self, node: ast.Set, state: State) -> Ref:
        for elt in node.elts:
            self.eval(elt, state)
        return Ref(Kind.SEQUENCE)

    def expr_Dict(self, node: ast.Dict, state: State) -> Ref:
        values = []
        for k, v in zip(node.keys, node.values):
            if k is not None:
                self.eval(k, state)
            ref = self.eval(v, state)
            values.append(ref)
            self.mark_escaped(ref, state)
        modules = [v for v in values if v.kind is Kind.MODULE]
        if modules and len(modules) == len(values):
            # A config dict of layers: indexing it picks one of them.
            return Ref(Kind.SEQUENCE, items=tuple(r.with_(module=replace(r.module, certain=False)) if r.module else r for r in modules))
        return Ref(Kind.SEQUENCE)

    def expr_Lambda(self, node: ast.Lambda, state: State) -> Ref:
        return Ref(Kind.FUNCTION)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, state: State, elts: list[ast.expr]) -> Ref:
        inner = state.copy()
        for gen in node.generators:
            it = self.eval(gen.iter, inner)
            self.assign(gen.target, self.element_of(it, gen.iter), inner, gen.iter)
            for cond in gen.ifs:
                self.eval(cond, inner)
        for elt in elts:
            self.eval(elt, inner)
        # Names bound inside stay inside; writes to storages are visible outside.
        state.heap.update(inner.heap)
        return Ref(Kind.SEQUENCE)

    def expr_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp, state: State) -> Ref:
        return self._comprehension(node, state, [node.elt])

    expr_SetComp = expr_ListComp
    expr_GeneratorExp = expr_ListComp

    def expr_DictComp(self, node: ast.DictComp, state: State) -> Ref:
        return self._comprehension(node, state, [node.key, node.value])

    def expr_Starred(self, node: ast.Starred, state: State) -> Ref:
        self.eval(node.value, state)
        return UNKNOWN

    def expr_Await(self, node: ast.Await, state: State) -> Ref:
        self.eval(node.value, state)
        return UNKNOWN

    # ------------------------------------------------------------------ iteration
    def element_of(self, iterable: Ref, node: ast.expr) -> Ref:
        if iterable.known_tensor:
            return self.unbound(iterable, node)
        if iterable.element is not None:
            return iterable.element
        if iterable.kind is Kind.SEQUENCE and iterable.items:
            return join_refs(iterable.items)
        return UNKNOWN

    def unbound(self, tensor: Ref, node: ast.AST, how: str = "iteration over") -> Ref:
        """An element of a tensor taken apart by iteration or unpacking: ``Tensor.__iter__`` is
        ``unbind(0)``, so every element is a multi-output view that may not be written in place."""
        iterated = node.id if isinstance(node, ast.Name) else None
        producer = Producer(f"{how} `{ast.unparse(node)}`", self.ctx.span(node), iterated)
        return tensor.with_(view=View.MULTI, producer=producer, items=None, element=None)

    def params_ref(self, node: ast.AST, state: State, named: bool = False) -> Ref:
        """``model.parameters()``: iterating yields leaves that require grad."""
        sid = self.ctx.site_id(("param-iter", self.ctx.span(node), 0))
        state.heap.setdefault(sid, Storage(leaf=Tri.YES, param=True, label="a parameter"))
        element = Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.YES)
        if named:
            element = Ref(Kind.SEQUENCE, items=(VALUE, element))
        return Ref(Kind.PARAMS, element=element)


def no_history(ref: Ref, node: ast.expr) -> bool:
    """A tensor without autograd history: known not to require grad, or a `.data` / `.detach()` alias."""
    if ref.kind is Kind.TENSOR and ref.grad is Tri.NO:
        return True
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "detach" \
        and not node.args and not node.keywords


def is_setting(node: ast.expr) -> bool:
    """A configuration value: ``args.tau``, ``cfg.train.lr``, ``1.0 - args.tau``, a number."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Attribute):
        root: ast.expr = node
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(root, ast.Name) and root.id != "self"
    if isinstance(node, ast.BinOp):
        return is_setting(node.left) and is_setting(node.right)
    if isinstance(node, ast.UnaryOp):
        return is_setting(node.operand)
    return False


def dtype_unknown(ref: Ref, state: State) -> bool:
    """A tensor of no known type: the caller's (an argument, an element of one) or an opaque value."""
    if not ref.is_tensorish or ref.integer:
        return False
    if ref.opaque:
        return True
    facts = state.storages(ref)
    return bool(facts) and all(f.arg is not None for _, f in facts)
