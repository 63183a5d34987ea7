"""The flow-sensitive abstract interpreter: walks a function's statements in order and tracks values.

For each name (and ``self.<attr>``) it tracks a ``Ref``; for each storage, the facts in ``Storage``
(see ``values``).  Ops are looked up in the op table: which inputs they save for backward (and
under which ``requires_grad`` condition), whether they save their output, whether the output is a
view.  Grad mode follows ``with torch.no_grad()``/``inference_mode()``/``enable_grad()`` and
decorators; ``.backward()`` / ``torch.autograd.grad`` release pending saves.  Branches are joined;
loops iterate to a fixpoint.  Calls of in-file functions use their summaries.

The interpreter recognises in-place writes and hands each one to the judge
(``hazards.Judge.on_mutation``), which decides whether it is a hazard.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator

from gradsafe.analysis.context import ClassInfo, FunctionNode, ModuleContext, Summary
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.names import resolve_text
from gradsafe.analysis.optable import PARAMS_TRIGGER, OpInfo
from gradsafe.analysis.values import (
    UNKNOWN,
    VALUE,
    Alias,
    Kind,
    ModuleInfo,
    Producer,
    Ref,
    Save,
    State,
    Storage,
    Tri,
    View,
)
from gradsafe.findings import Span

_MAX_LOOP_ITERATIONS = 4

# Methods that never write data even though their names end in `_`.
_TENSOR_VALUE_METHODS = frozenset(
    {"item", "tolist", "size", "dim", "numel", "numpy", "is_contiguous", "data_ptr", "stride", "storage_offset",
     "element_size", "nelement", "ndimension", "get_device", "is_floating_point", "is_complex", "__len__", "equal",
     "allclose", "any", "all", "nonzero", "argmax", "argmin", "argsort", "isnan", "isinf", "isfinite", "sign",
     "eq", "ne", "lt", "le", "gt", "ge", "bool", "long", "int", "type", "untyped_storage"}
)
# Methods that return the same tensor (or an alias sharing its storage) unless a conversion is needed.
_ALIAS_METHODS = frozenset({"to", "float", "double", "half", "bfloat16", "cpu", "cuda", "contiguous", "type_as", "requires_grad_", "retain_grad", "pin_memory"})
_VALUE_ATTRS = frozenset(
    {"shape", "dtype", "device", "requires_grad", "is_leaf", "ndim", "grad_fn", "is_cuda", "layout", "names",
     "training", "_version", "itemsize", "nbytes"}
)
_VIEW_ATTRS = frozenset({"T", "mT", "H", "mH", "real", "imag"})
_FACTORIES = frozenset(
    {"zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace", "logspace",
     "eye", "tensor", "as_tensor", "from_numpy", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
     "randn_like", "randint_like", "empty_strided", "normal", "bernoulli", "multinomial"}
)
_TENSOR_FACTORY_METHODS = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"})
_HARMLESS_BUILTINS = frozenset(
    {"print", "len", "isinstance", "type", "str", "repr", "format", "id", "hash", "float", "int", "bool", "range",
     "hasattr", "getattr", "callable", "min", "max", "abs", "round", "sum", "any", "all", "super", "iter", "next"}
)
_ITER_BUILTINS = frozenset({"list", "tuple", "sorted", "reversed", "iter"})
_PARAM_METHODS = frozenset({"parameters", "named_parameters"})
_MODULE_SELF_METHODS = frozenset({"train", "eval", "to", "cuda", "cpu", "float", "double", "half", "requires_grad_", "apply", "type"})


@dataclass
class Scope:
    qualname: str
    node: FunctionNode | ast.Module
    class_name: str | None
    is_forward: bool  # a module's forward: its tensor arguments are the caller's
    differentiable: bool  # strict policy reports in-place ops here
    grad_default: bool  # grad mode on entry
    params: list[str] = field(default_factory=list)
    # Runs under autograd as far as this file shows: a forward, code that calls backward(), or an
    # in-file function those call.  Hazards that depend on arguments requiring grad count here.
    grad_context: bool = False
    # grad_context only because a grad-context scope calls this one: if every call seen passes
    # values that do not require grad, argument-dependent hazards here are not real.
    inherited_context: bool = False


def make_scope(ctx: ModuleContext, qualname: str, node: FunctionNode) -> Scope:
    class_name = ctx.parents.get(qualname)
    decorated = ctx.decorated_grad_mode(node)
    grad = True if decorated is None else decorated
    is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)
    if class_name and ctx.is_autograd_function(class_name) and node.name in ("forward", "backward", "setup_context"):
        grad = False  # autograd.Function.forward runs with grad mode off
    args = node.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if class_name and params and not is_static:
        params = params[1:]  # self / cls
    is_forward = node.name == "forward" and class_name is not None and not ctx.is_autograd_function(class_name)
    annotated = _has_tensor_annotation(node)
    return Scope(
        qualname=qualname,
        node=node,
        class_name=class_name,
        is_forward=is_forward,
        differentiable=grad and (is_forward or annotated or node.name == "__call__"),
        grad_default=grad,
        params=params,
        grad_context=is_forward,
    )


def _has_tensor_annotation(node: FunctionNode) -> bool:
    annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs]
    annotations.append(node.returns)
    return any(is_tensor_annotation(ann) for ann in annotations)


def is_tensor_annotation(ann: ast.expr | None) -> bool:
    """`Tensor`, `torch.Tensor`, `Optional[Tensor]`, `Tensor | None`, or the same as a string."""
    if ann is None:
        return False
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            ann = ast.parse(ann.value, mode="eval").body
        except SyntaxError:
            return False
    if isinstance(ann, ast.Name):
        return ann.id == "Tensor"
    if isinstance(ann, ast.Attribute):
        return ann.attr == "Tensor"
    if isinstance(ann, ast.Subscript) and isinstance(ann.value, (ast.Name, ast.Attribute)):
        outer = ann.value.id if isinstance(ann.value, ast.Name) else ann.value.attr
        return outer == "Optional" and is_tensor_annotation(ann.slice)
    if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
        sides = [ann.left, ann.right]
        nones = [x for x in sides if isinstance(x, ast.Constant) and x.value is None]
        return len(nones) == 1 and any(is_tensor_annotation(x) for x in sides if x not in nones)
    return False


class Interpreter:
    """Interprets one function body (or the module body) once."""

    def __init__(self, ctx: ModuleContext, scope: Scope, judge=None) -> None:
        self.ctx = ctx
        self.scope = scope
        self.judge = judge  # hazards.Judge, or None when only computing summaries / attributes
        self.grad_on: bool = scope.grad_default
        self.loops: list[ast.stmt] = []  # enclosing loop statements, outermost first
        self.stmt: ast.stmt | None = None  # statement being interpreted
        self.returns: list[Ref] = []
        self.return_states: list[State] = []
        self.returns_value = False
        self.mutations: list[tuple[Mutation, State]] = []  # every write seen (for summaries)
        self._break_states: list[list[State]] = []
        self._continue_states: list[list[State]] = []
        self.higher_order = False  # autograd.grad(create_graph=True) seen: updates stay differentiable
        self.assume_tensor_args = False  # summaries: the caller passes tensors

    # ------------------------------------------------------------------ entry points
    def initial_state(self, arg_refs: dict[str, Ref] | None = None) -> State:
        state = State()
        info = self.ctx.class_info(self.scope.class_name) if self.scope.class_name else None
        node = self.scope.node
        if info is not None:
            state.heap.update(info.heap)
            for attr, ref in info.attrs.items():
                state.env[f"self.{attr}"] = ref
            state.env["self"] = Ref(Kind.MODULE, module=ModuleInfo(api=None, user_class=info.name))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scalars = _scalar_params(node)
            assumed = self.scope.is_forward or self.assume_tensor_args
            evidence: set[str] | None = None  # read off the function's text, when a parameter first needs it
            for name in self.scope.params:
                if arg_refs is not None and name in arg_refs:
                    state.env[name] = arg_refs[name]
                    continue
                if name in scalars:
                    state.env[name] = VALUE
                    continue
                sid = self.ctx.site_id(("arg", self.scope.qualname, name))
                state.heap[sid] = Storage(leaf=Tri.MAYBE, arg=name, label=f"argument `{name}`")
                if assumed:
                    kind = Kind.TENSOR
                else:
                    if evidence is None:
                        evidence = _tensor_params(node, self.scope.params, self.ctx)
                    kind = Kind.TENSOR if name in evidence else Kind.UNKNOWN
                state.env[name] = Ref(kind, frozenset({sid}), grad=Tri.MAYBE)
            for extra in (node.args.vararg, node.args.kwarg):
                if extra is not None:
                    state.env[extra.arg] = UNKNOWN
        return state

    def run(self, state: State) -> State | None:
        body = self.scope.node.body
        return self.exec_block(body, state)

    # ------------------------------------------------------------------ statements
    def exec_block(self, stmts: list[ast.stmt], state: State | None) -> State | None:
        for stmt in stmts:
            if state is None:
                return None
            state = self.exec_stmt(stmt, state)
        return state

    def exec_stmt(self, stmt: ast.stmt, state: State) -> State | None:
        outer = self.stmt
        self.stmt = stmt
        try:
            method = getattr(self, "stmt_" + type(stmt).__name__, None)
            if method is None:
                return state
            return method(stmt, state)
        finally:
            self.stmt = outer

    def stmt_Expr(self, stmt: ast.Expr, state: State) -> State:
        self.eval(stmt.value, state)
        return state

    def stmt_Assign(self, stmt: ast.Assign, state: State) -> State:
        bound = stmt.targets[0].id if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) else None
        value = self.eval(stmt.value, state, bound_to=bound)
        for target in stmt.targets:
            self.assign(target, value, state, stmt.value)
        return state

    def stmt_AnnAssign(self, stmt: ast.AnnAssign, state: State) -> State:
        if stmt.value is not None:
            bound = stmt.target.id if isinstance(stmt.target, ast.Name) else None
            value = self.eval(stmt.value, state, bound_to=bound)
            self.assign(stmt.target, value, state, stmt.value)
        return state

    def stmt_AugAssign(self, stmt: ast.AugAssign, state: State) -> State:
        operand = self.eval(stmt.value, state)
        target = stmt.target
        if isinstance(target, ast.Subscript):
            base = self.eval(target.value, state)
            self.eval_index(target.slice, state)
            if base.kind is Kind.TENSOR:
                self.mutate(
                    Form.AUGASSIGN, _AUG_OPS.get(type(stmt.op), "op="), stmt, target.value, base, state,
                    operands=[operand], operand_nodes=[stmt.value], subscript=True,
                )
            return state
        current = self.eval(target, state)
        # `p -= lr * p.grad`: whatever `p` came from, it has a `.grad`, so it is a tensor.
        own_grad = current.kind is Kind.UNKNOWN and _reads_grad_of(stmt.value, _key(target) or "")
        if isinstance(stmt.op, ast.MatMult) or (current.kind is not Kind.TENSOR and not own_grad):
            # `@=` is not in-place (Tensor has no __imatmul__); numbers are rebound.
            result = self.binop(stmt.op, current, operand, stmt, state)
            self.assign(target, result, state, stmt)
            return state
        self.mutate(
            Form.AUGASSIGN, _AUG_OPS.get(type(stmt.op), "op="), stmt, target, current, state,
            operands=[operand], operand_nodes=[stmt.value],
            method=_AUG_METHODS.get(type(stmt.op)),
        )
        return state

    def stmt_Return(self, stmt: ast.Return, state: State) -> None:
        if stmt.value is not None:
            self.returns_value = True
            ref = self.eval(stmt.value, state)
            self.returns.append(ref)
            self.mark_escaped(ref, state, returned=True)
        self.return_states.append(state.copy())
        return None

    def stmt_Raise(self, stmt: ast.Raise, state: State) -> None:
        if stmt.exc is not None:
            self.eval(stmt.exc, state)
        return None

    def stmt_Delete(self, stmt: ast.Delete, state: State) -> State:
        for target in stmt.targets:
            key = _key(target)
            if key is not None:
                state.env.pop(key, None)
        return state

    def stmt_If(self, stmt: ast.If, state: State) -> State | None:
        self.eval(stmt.test, state)
        then = self.exec_block(stmt.body, state.copy())
        other = self.exec_block(stmt.orelse, state.copy()) if stmt.orelse else state
        return _join(then, other)

    def stmt_For(self, stmt: ast.For | ast.AsyncFor, state: State) -> State | None:
        iterable = self.eval(stmt.iter, state)
        element = self.element_of(iterable, stmt.iter)
        return self.loop(stmt, state, lambda s: self.assign(stmt.target, element, s, stmt.iter), stmt.orelse)

    stmt_AsyncFor = stmt_For

    def stmt_While(self, stmt: ast.While, state: State) -> State | None:
        return self.loop(stmt, state, lambda s: self.eval(stmt.test, s), stmt.orelse)

    def loop(self, stmt, state: State, head, orelse: list[ast.stmt]) -> State | None:
        self.loops.append(stmt)
        self._break_states.append([])
        self._continue_states.append([])
        entry = state
        current = state.copy()
        exit_state: State | None = state.copy()
        try:
            for _ in range(_MAX_LOOP_ITERATIONS):
                head(current)
                self._continue_states[-1] = []
                after = self.exec_block(stmt.body, current.copy())
                for s in self._continue_states[-1]:
                    after = _join(after, s)
                if after is None:
                    break
                merged = entry.join(after)
                if _same(merged, current):
                    current = merged
                    break
                current = merged
            exit_state = current
            breaks = self._break_states[-1]
        finally:
            self.loops.pop()
            self._break_states.pop()
            self._continue_states.pop()
        if orelse:
            exit_state = self.exec_block(orelse, exit_state.copy()) if exit_state is not None else None
        for b in breaks:
            exit_state = _join(exit_state, b)
        return exit_state

    def stmt_Break(self, stmt: ast.Break, state: State) -> None:
        if self._break_states:
            self._break_states[-1].append(state.copy())
        return None

    def stmt_Continue(self, stmt: ast.Continue, state: State) -> None:
        if self._continue_states:
            self._continue_states[-1].append(state.copy())
        return None

    def stmt_With(self, stmt: ast.With | ast.AsyncWith, state: State) -> State | None:
        saved = self.grad_on
        for item in stmt.items:
            mode = self.ctx.grad_mode_of(item.context_expr)
            if mode is not None:
                self.grad_on = mode
            else:
                ref = self.eval(item.context_expr, state)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, UNKNOWN if ref.kind is not Kind.TENSOR else ref, state, item.context_expr)
        try:
            return self.exec_block(stmt.body, state)
        finally:
            self.grad_on = saved

    stmt_AsyncWith = stmt_With

    def stmt_Try(self, stmt: ast.Try, state: State) -> State | None:
        body = self.exec_block(stmt.body, state.copy())
        body = self.exec_block(stmt.orelse, body) if body is not None and stmt.orelse else body
        result = body
        for handler in stmt.handlers:
            start = state.copy() if body is None else state.join(body)
            if handler.name:
                start.env[handler.name] = VALUE
            result = _join(result, self.exec_block(handler.body, start))
        if stmt.finalbody:
            start = result if result is not None else state.copy()
            after = self.exec_block(stmt.finalbody, start)
            return after if result is not None else None
        return result

    stmt_TryStar = stmt_Try

    def stmt_Match(self, stmt, state: State) -> State | None:
        self.eval(stmt.subject, state)
        result: State | None = None
        for case in stmt.cases:
            result = _join(result, self.exec_block(case.body, state.copy()))
        return _join(result, state)

    def stmt_FunctionDef(self, stmt, state: State) -> State:
        state.env[stmt.name] = Ref(Kind.FUNCTION)
        return state

    stmt_AsyncFunctionDef = stmt_FunctionDef
    stmt_ClassDef = stmt_FunctionDef

    def stmt_Import(self, stmt, state: State) -> State:
        for alias in stmt.names:
            state.env.pop((alias.asname or alias.name).split(".")[0], None)
        return state

    stmt_ImportFrom = stmt_Import

    # ------------------------------------------------------------------ binding
    def assign(self, target: ast.expr, value: Ref, state: State, value_node: ast.AST | None) -> None:
        if isinstance(target, ast.Name):
            state.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items
            starred = any(isinstance(e, ast.Starred) for e in target.elts)
            for i, elt in enumerate(target.elts):
                if isinstance(elt, ast.Starred):
                    self.assign(elt.value, Ref(Kind.SEQUENCE) if items is None else UNKNOWN, state, value_node)
                    continue
                if items is not None and not starred and len(items) == len(target.elts):
                    item = items[i]
                elif value.element is not None:
                    item = value.element
                elif items:
                    item = _join_refs(items)
                elif value.kind is Kind.TENSOR:
                    # Unpacking a tensor yields views along dim 0; a tuple-returning op we don't know
                    # yields tensors that require grad exactly when its result does.
                    item = value.with_(view=View.VIEW if value.view is View.NONE else value.view, producer=None)
                else:
                    item = UNKNOWN
                self.assign(elt, item, state, value_node)
        elif isinstance(target, ast.Attribute):
            key = _key(target)
            if key is not None:
                state.env[key] = value
                if key.startswith("self."):
                    self.mark_escaped(value, state)
            else:
                self.eval(target.value, state)
        elif isinstance(target, ast.Subscript):
            base = self.eval(target.value, state)
            self.eval_index(target.slice, state)
            if base.kind is Kind.TENSOR and isinstance(self.stmt, ast.Assign):
                self.mutate(
                    Form.SETITEM, "[]=", self.stmt, target.value, base, state,
                    operands=[value], operand_nodes=[value_node] if isinstance(value_node, ast.expr) else [],
                    subscript=True,
                )
            else:
                self.mark_escaped(value, state)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, UNKNOWN, state, value_node)

    def label(self, node: ast.AST) -> str:
        """``node``'s source, shortened for a message.  Unparsed once per node: loops and summaries
        evaluate the same nodes again, and ``ast.unparse`` is slow."""
        text = self.ctx.labels.get(node)
        if text is None:
            text = self.ctx.labels[node] = _short(node)
        return text

    def mark_escaped(self, ref: Ref, state: State, returned: bool = False) -> None:
        """The tensor becomes reachable from outside the function (attribute, container, unknown call)."""
        if returned:
            return
        if ref.items:
            for item in ref.items:
                self.mark_escaped(item, state)
        if ref.sids and self.judge is not None:
            self.judge.escaped.update(ref.sids)

    # ------------------------------------------------------------------ expressions
    def eval(self, node: ast.expr, state: State, bound_to: str | None = None) -> Ref:
        method = getattr(self, "expr_" + type(node).__name__, None)
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
        sub = Interpreter(self.ctx, Scope("<module>", self.ctx.tree, None, False, False, True))
        state = State()
        ref = sub.eval(expr, state)
        self.ctx.global_heap.update(state.heap)
        return ref

    def expr_Attribute(self, node: ast.Attribute, state: State) -> Ref:
        key = _key(node)
        if key is not None and key in state.env:
            return state.env[key]
        if node.attr in _VALUE_ATTRS:
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
        if node.attr in _VIEW_ATTRS and base.is_tensorish:
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
            if info is not None and self.ctx.find_method(module.user_class, node.attr):
                return Ref(Kind.FUNCTION, function=self.ctx.find_method(module.user_class, node.attr)[0])
        if module.api is not None and node.attr in ("weight", "bias") and key is not None:
            sid = self.ctx.site_id(("param", key))
            state.heap.setdefault(sid, Storage(leaf=Tri.YES, param=True, label=f"parameter `{key}`"))
            return Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.YES)
        return UNKNOWN

    def expr_Subscript(self, node: ast.Subscript, state: State) -> Ref:
        base = self.eval(node.value, state)
        basic = self.eval_index(node.slice, state)
        if base.kind is Kind.SEQUENCE and base.items is not None:
            idx = node.slice
            if isinstance(idx, ast.Constant) and isinstance(idx.value, int) and -len(base.items) <= idx.value < len(base.items):
                return base.items[idx.value]
            return _join_refs(base.items) if base.items else UNKNOWN
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
        return self.binop(node.op, left, right, node, state)

    def binop(self, op: ast.operator, left: Ref, right: Ref, node: ast.AST, state: State) -> Ref:
        name = _BIN_OPS.get(type(op))
        if name is None or not (left.kind is Kind.TENSOR or right.kind is Kind.TENSOR):
            # Without a known tensor operand this is as likely arithmetic on sizes as on tensors.
            return VALUE if left.kind is Kind.VALUE and right.kind is Kind.VALUE else UNKNOWN
        if left.kind is Kind.VALUE or (not left.sids and left.kind is Kind.UNKNOWN and right.kind is Kind.TENSOR and name not in ("__matmul__",)):
            if left.kind is Kind.VALUE:
                return self.apply_op(f"Tensor.__r{name[2:]}", node, {"self": right, "other": left}, state,
                                     display=_OP_SYMBOLS.get(type(op), name))
        return self.apply_op(f"Tensor.{name}", node, {"self": left, "other": right}, state,
                             display=_OP_SYMBOLS.get(type(op), name))

    def expr_UnaryOp(self, node: ast.UnaryOp, state: State) -> Ref:
        operand = self.eval(node.operand, state)
        if isinstance(node.op, ast.USub) and operand.is_tensorish:
            return self.apply_op("Tensor.__neg__", node, {"self": operand}, state, display="-")
        if isinstance(node.op, ast.Not):
            return VALUE
        return operand if operand.kind is Kind.VALUE else UNKNOWN

    def expr_BoolOp(self, node: ast.BoolOp, state: State) -> Ref:
        refs = [self.eval(v, state) for v in node.values]
        return _join_refs(refs)

    def expr_Compare(self, node: ast.Compare, state: State) -> Ref:
        refs = [self.eval(node.left, state)] + [self.eval(c, state) for c in node.comparators]
        if any(r.kind is Kind.TENSOR for r in refs):
            sid = self.ctx.site_id(("cmp", self.ctx.span(node)))
            state.heap[sid] = Storage(label="a comparison")
            return Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.NO)
        return VALUE

    def expr_IfExp(self, node: ast.IfExp, state: State) -> Ref:
        self.eval(node.test, state)
        return self.eval(node.body, state).join(self.eval(node.orelse, state))

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

    def _comprehension(self, node, state: State, elts: list[ast.expr]) -> Ref:
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

    def expr_ListComp(self, node, state: State) -> Ref:
        return self._comprehension(node, state, [node.elt])

    expr_SetComp = expr_ListComp
    expr_GeneratorExp = expr_ListComp

    def expr_DictComp(self, node, state: State) -> Ref:
        return self._comprehension(node, state, [node.key, node.value])

    def expr_Starred(self, node: ast.Starred, state: State) -> Ref:
        self.eval(node.value, state)
        return UNKNOWN

    def expr_Await(self, node: ast.Await, state: State) -> Ref:
        self.eval(node.value, state)
        return UNKNOWN

    # ------------------------------------------------------------------ iteration
    def element_of(self, iterable: Ref, node: ast.expr) -> Ref:
        if iterable.element is not None:
            return iterable.element
        if iterable.kind is Kind.SEQUENCE and iterable.items:
            return _join_refs(iterable.items)
        return UNKNOWN

    def params_ref(self, node: ast.AST, state: State, named: bool = False) -> Ref:
        """``model.parameters()``: iterating yields leaves that require grad."""
        sid = self.ctx.site_id(("param-iter", self.ctx.span(node), 0))
        state.heap.setdefault(sid, Storage(leaf=Tri.YES, param=True, label="a parameter"))
        element = Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.YES)
        if named:
            element = Ref(Kind.SEQUENCE, items=(VALUE, element))
        return Ref(Kind.PARAMS, element=element)

    # ------------------------------------------------------------------ calls
    def expr_Call(self, node: ast.Call, state: State, bound_to: str | None = None) -> Ref:
        func = node.func
        qualname = self.ctx.imports.resolve(func)
        if qualname is not None and not (isinstance(func, ast.Name) and func.id in state.env):
            return self.call_api(qualname, node, state, bound_to)
        if isinstance(func, ast.Attribute):
            held = state.env.get(_key(func) or "")
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
            if local is None and func.id in _ITER_BUILTINS and node.args:
                ref = self.eval(node.args[0], state)
                return ref if ref.kind in (Kind.PARAMS, Kind.SEQUENCE) else UNKNOWN
            if local is None and func.id == "zip":
                refs = [self.eval(a, state) for a in node.args]
                if refs and any(r.element is not None for r in refs):
                    pair = Ref(Kind.SEQUENCE, items=tuple(r.element or UNKNOWN for r in refs))
                    kind = Kind.PARAMS if any(r.kind is Kind.PARAMS for r in refs) else Kind.SEQUENCE
                    return Ref(kind, element=pair)
                return Ref(Kind.SEQUENCE)
            if local is None and func.id == "enumerate" and node.args:
                ref = self.eval(node.args[0], state)
                if ref.element is not None:
                    return Ref(ref.kind, element=Ref(Kind.SEQUENCE, items=(VALUE, ref.element)))
                return Ref(Kind.SEQUENCE)
            if local is None and func.id in _HARMLESS_BUILTINS:
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
        info = table.lookup(qualname)
        if info is not None and info.kind == "module":
            return self.construct_module(qualname, node, state)
        if info is None and qualname.startswith("torch.nn.") and short[:1].isupper() and "." not in qualname[len("torch.nn."):]:
            return self.construct_module(qualname, node, state)
        if info is not None and info.kind == "factory" or (info is None and short in _FACTORIES and qualname.count(".") == 1):
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
        return Ref(Kind.TENSOR, frozenset({sid}), grad=leaf)

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
        if info.inplace_kwarg and inplace_kw is not None and _truthy(inplace_kw.value):
            target_name = next((p for p in info.params if p in info.tensor_params and p in bound), None)
            if target_name is not None and bound[target_name].is_tensorish:
                target_node = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == target_name)
                display = f"{info.name.rsplit('.', 1)[-1]}(inplace=True)"
                target = bound[target_name]
                self.mutate(Form.INPLACE_KWARG, display, node, target_node, target, state,
                            operands=[r for k, r in bound.items() if k != target_name], operand_nodes=list(node.args[1:]),
                            method=info.name, bound_to=bound_to, inplace_saves=info.inplace_saves)
                return target.with_(producer=Producer(display, self.ctx.span(node)))
        return self.apply_bound(info, node, bound, state, literals=_literal_kinds(info, node))

    def apply_op(self, name: str, node: ast.AST, bound: dict[str, Ref], state: State, display: str | None = None) -> Ref:
        info = self.ctx.table.lookup(name)
        if info is None:
            return self.opaque_result(node, state, bound.values())
        return self.apply_bound(info, node, bound, state, display)

    def apply_bound(self, info: OpInfo, node: ast.AST, bound: dict[str, Ref], state: State, display: str | None = None,
                    params_require_grad: bool = False, literals: dict[str, object] | None = None) -> Ref:
        """Record the saves an op makes and return its result."""
        span = self.ctx.span(node)
        op_display = display or _display_op(info.name)
        if info.variants:
            kinds: dict[str, object] = {p: ("tensor" if r.is_tensorish else "value") for p, r in bound.items()}
            kinds.update(literals or {})
            info = info.for_arguments(kinds)
        inputs = [bound[p] for p in info.params if p in bound and p in info.tensor_params]
        in_grad = Tri.any([r.grad for r in inputs if r.is_tensorish] + ([Tri.YES] if params_require_grad else []))
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
        if method in _PARAM_METHODS and receiver.kind is Kind.UNKNOWN:
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
        if method in _TENSOR_VALUE_METHODS:
            self.eval_args(node, state)
            return VALUE if method in ("item", "tolist", "size", "dim", "numel", "is_contiguous", "data_ptr", "stride", "equal", "allclose", "element_size", "nelement", "ndimension", "get_device", "is_floating_point", "is_complex", "storage_offset") else self.opaque_result(node, state, ()).with_(grad=Tri.NO, opaque=False)
        if method in _TENSOR_FACTORY_METHODS:
            return self.factory(node, state)
        if method == "clone":
            self.eval_args(node, state)
            sid = self.ctx.site_id(("clone", self.ctx.span(node)))
            state.heap[sid] = Storage(fresh=True, label=f"`{self.label(node)}`", origin=self.ctx.span(node))
            return Ref(Kind.TENSOR, frozenset({sid}), grad=receiver.grad if self.grad_on else Tri.NO,
                       producer=Producer("clone()", self.ctx.span(node)))
        if method in _ALIAS_METHODS:
            self.eval_args(node, state)
            return receiver.with_(producer=receiver.producer)
        info = table.lookup(f"Tensor.{method}")
        if info is not None:
            return self.call_op(info, node, state, bound_to, receiver=receiver)
        if receiver.kind is Kind.TENSOR or receiver.sids:
            args, kwargs = self.eval_args(node, state)
            return self.opaque_result(node, state, [receiver] + args)
        return self.call_unknown(node, state)

    def call_inplace_method(self, receiver: Ref, method: str, inplace, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        args, kwargs = self.eval_args(node, state)
        target_node = node.func.value  # type: ignore[attr-defined]
        self.mutate(Form.METHOD, method, node, target_node, receiver, state,
                    operands=args + list(kwargs.values()), operand_nodes=list(node.args) + [k.value for k in node.keywords],
                    method=method, bound_to=bound_to, inplace_saves=inplace.saves)
        return receiver.with_(producer=Producer(f"{method}()", self.ctx.span(node)))

    # --- modules
    def construct_module(self, api: str | None, node: ast.Call, state: State) -> Ref:
        args, kwargs = self.eval_args(node, state)
        span = self.ctx.span(node)
        info = self.ctx.table.lookup(api) if api is not None else None
        inplace = any(k.arg == "inplace" and _truthy(k.value) for k in node.keywords) or (
            info is not None and flag_passed_positionally(node, info.inplace_position))
        if api in ("torch.nn.Sequential",):
            layers: list[ModuleInfo] = []
            known = True
            for a, ref in zip(node.args, args):
                if isinstance(a, ast.Starred):
                    seq = self.eval(a.value, state)
                    if seq.kind is Kind.SEQUENCE and seq.items and all(i.kind is Kind.MODULE for i in seq.items):
                        layers.extend(i.module for i in seq.items if i.module)
                    else:
                        known = False
                elif ref.kind is Kind.MODULE and ref.module is not None:
                    layers.append(ref.module)
                elif ref.kind is Kind.SEQUENCE and ref.items:
                    # nn.Sequential(OrderedDict([("a", layer), ...]))
                    for item in ref.items:
                        if item.kind is Kind.SEQUENCE and item.items and item.items[-1].kind is Kind.MODULE:
                            layers.append(item.items[-1].module)  # type: ignore[arg-type]
                        else:
                            known = False
                else:
                    known = False
            module = ModuleInfo(api=api, site=span, layers=tuple(layers) if known else None)
            self.check_sequential(module, node, state)
            return Ref(Kind.MODULE, module=module)
        if api in ("torch.nn.ModuleList",):
            if args and args[0].kind is Kind.SEQUENCE and args[0].items:
                return Ref(Kind.SEQUENCE, items=args[0].items)
            return Ref(Kind.SEQUENCE)
        label = None if api is not None else self.label(node.func)
        return Ref(Kind.MODULE, module=ModuleInfo(api=api, inplace=inplace, site=span, certain=api is not None, label=label))

    def check_sequential(self, module: ModuleInfo, node: ast.Call, state: State) -> None:
        """In-place layers inside an nn.Sequential act on the previous layer's output."""
        if not module.layers or self.judge is None:
            return
        previous: Ref | None = None
        for layer in module.layers:
            info = self.ctx.table.lookup(layer.api) if layer.api else None
            if previous is not None and layer.inplace:
                self.mutate(Form.SEQUENTIAL, f"{layer.display}(inplace=True)", node, node, previous, state,
                            operands=[], operand_nodes=[], module=layer,
                            inplace_saves=info.inplace_saves if info else None)
            if info is None:
                previous = None
                continue
            if previous is None:
                sid = self.ctx.site_id(("seq-input", self.ctx.span(node)))
                state.heap.setdefault(sid, Storage(label="the input"))
                previous = Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.MAYBE)
            if layer.inplace:
                continue
            site = layer.site or self.ctx.span(node)
            bound = {info.params[0] if info.params else "input": previous}
            previous = self.apply_bound(info, _SpanNode(site), bound, state, display=layer.display,
                                        params_require_grad=info.module_params)

    def call_module_method(self, receiver: Ref, method: str, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        module = receiver.module
        if method == "forward" or method == "__call__":
            return self.call_module(receiver, node, state, bound_to)
        if method in _PARAM_METHODS:
            self.eval_args(node, state)
            return self.params_ref(node, state, named=method == "named_parameters")
        if method in _MODULE_SELF_METHODS:
            self.eval_args(node, state)
            if method == "eval" and module is not None:
                return receiver.with_(module=replace(module, eval_mode=True))
            return receiver
        if module is not None and module.user_class is not None:
            found = self.ctx.find_method(module.user_class, method)
            if found is not None:
                return self.call_user(found[0], node, state, bound_to, self_ref=receiver)
        return self.call_unknown(node, state)

    def call_module(self, receiver: Ref, node: ast.Call, state: State, bound_to: str | None) -> Ref:
        module = receiver.module
        if module is None:
            return self.call_unknown(node, state)
        if module.user_class is not None:
            found = self.ctx.find_method(module.user_class, "forward")
            if found is not None:
                return self.call_user(found[0], node, state, bound_to, self_ref=receiver)
            return self.call_unknown(node, state)
        if module.layers is not None:
            args, kwargs = self.eval_args(node, state)
            value = args[0] if args else UNKNOWN
            for i, layer in enumerate(module.layers):
                value = self.apply_module(layer, node, value, state, bound_to if i == len(module.layers) - 1 else None,
                                          first=i == 0)
            return value
        args, kwargs = self.eval_args(node, state)
        return self.apply_module(module, node, args[0] if args else UNKNOWN, state, bound_to, first=True,
                                 extra=args[1:] + list(kwargs.values()))

    def apply_module(self, module: ModuleInfo, node: ast.Call, value: Ref, state: State, bound_to: str | None,
                     first: bool, extra: list[Ref] | None = None) -> Ref:
        info = self.ctx.table.lookup(module.api) if module.api else None
        if module.inplace and value.is_tensorish and (first or value.sids):
            target_node = node.args[0] if node.args and first else node
            self.mutate(Form.MODULE, f"{module.display}(inplace=True)", node, target_node, value, state,
                        operands=[], operand_nodes=[], module=module, bound_to=bound_to,
                        inplace_saves=info.inplace_saves if info else None)
            return value.with_(producer=Producer(module.display, self.ctx.span(node)))
        if info is None or not value.is_tensorish:
            if value.is_tensorish and module.api is None:
                return self.opaque_result(node, state, [value] + (extra or []))
            return self.opaque_result(node, state, [value] + (extra or [])) if value.is_tensorish else UNKNOWN
        if module.eval_mode and info.name.startswith("torch.nn.Dropout"):
            return value
        bound = {info.params[0] if info.params else "input": value}
        for name, ref in zip(info.params[1:], extra or []):
            bound[name] = ref
        return self.apply_bound(info, node, bound, state, display=module.display, params_require_grad=info.module_params)

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

    # ------------------------------------------------------------------ effects
    def on_backward(self, node: ast.Call, state: State) -> None:
        keeps = False
        for kw in node.keywords:
            if kw.arg in ("retain_graph", "create_graph") and _truthy(kw.value):
                keeps = True
                if kw.arg == "create_graph":
                    self.higher_order = True
        if not keeps:
            state.clear_saves()
        state.backward = Tri.YES

    def mutate(self, form: Form, op: str, node: ast.AST, target_node: ast.expr, target: Ref, state: State, *,
               operands: list[Ref], operand_nodes: list, subscript: bool = False, method: str | None = None,
               bound_to: str | None = None, module: ModuleInfo | None = None, helper: str | None = None,
               helper_span: Span | None = None, inplace_saves: str | None = None, grad_on: bool = True) -> None:
        through_data = target.alias is Alias.DATA
        inner = target_node
        while isinstance(inner, ast.Subscript):
            subscript = True
            inner = inner.value
        name = _key(inner)
        if isinstance(inner, ast.Attribute) and inner.attr == "data":
            name = _key(inner.value)
            through_data = True
        mention_grad = any(_mentions_grad(n) for n in operand_nodes if isinstance(n, ast.AST))
        own_grad = mention_grad and name is not None and any(
            _reads_grad_of(n, name) for n in operand_nodes if isinstance(n, ast.AST))
        operands_grad = Tri.any(r.grad for r in operands if r.is_tensorish)
        maybes = [r for r in operands if r.is_tensorish and r.grad is Tri.MAYBE]
        stmt = self.stmt if self.stmt is not None else ast.Pass()
        mutation = Mutation(
            form=form, op=op, node=node,
            span=module.site if form is Form.SEQUENTIAL and module is not None and module.site else self.ctx.span(node),
            target_node=target_node, target=target, name=name, through_data=through_data, subscript=subscript,
            operands_grad=operands_grad, operands_opaque=bool(maybes) and all(r.opaque for r in maybes),
            operands_mention_grad=mention_grad, stmt=stmt, module=module,
            helper=helper, helper_span=helper_span, method=method, result_bound_to=bound_to,
            grad_on=grad_on and self.grad_on, reads_own_grad=own_grad,
        )
        self.mutations.append((mutation, state.copy()))
        if self.judge is not None:
            self.judge.on_mutation(mutation, state, self)
        # Effects on the state: the tensor now depends on the operands, and the op may save its result.
        if target.sids and not through_data and self.grad_on:
            new_grad = Tri.any([target.grad, operands_grad]) if operands else target.grad
            if new_grad is not target.grad and name is not None and name in state.env:
                state.env[name] = state.env[name].with_(grad=new_grad)
        if target.sids and inplace_saves == "output" and self.grad_on and target.grad is not Tri.NO and not through_data:
            state.add_save(target.sids, Save(f"{op}" if op.endswith(")") else f"{op}()", self.ctx.span(node), "output",
                                             certain=target.grad is Tri.YES))


# ---------------------------------------------------------------------- module-level helpers
class _SpanNode(ast.AST):
    """A stand-in node carrying only a span (for layers inside nn.Sequential)."""

    def __init__(self, span: Span) -> None:
        super().__init__()
        self.lineno, self.col_offset, self.end_lineno, self.end_col_offset = span.line, span.col, span.end_line, span.end_col


def _join(a: State | None, b: State | None) -> State | None:
    if a is None:
        return b
    if b is None:
        return a
    return a.join(b)


def _same(a: State, b: State) -> bool:
    return a.env == b.env and a.heap == b.heap


def _join_refs(refs: Iterable[Ref]) -> Ref:
    result: Ref | None = None
    for r in refs:
        result = r if result is None else result.join(r)
    return result or UNKNOWN


def _key(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _truthy(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value) is True


def flag_passed_positionally(node: ast.Call, position: int | None) -> bool:
    """Is the argument at ``position`` (the op table's ``inplace_position``) a literal ``True``?

    ``nn.ReLU(True)``, ``nn.LeakyReLU(0.2, True)``: old code passes the flag without its keyword.
    A ``*args`` at or before the position hides which argument lands there.
    """
    if position is None or position >= len(node.args):
        return False
    if any(isinstance(a, ast.Starred) for a in node.args[: position + 1]):
        return False
    arg = node.args[position]
    return isinstance(arg, ast.Constant) and arg.value is True


def _reads_grad_of(node: ast.AST, name: str) -> bool:
    """Does ``node`` read ``<name>.grad``?"""
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" and _key(n.value) == name for n in ast.walk(node))


def _mentions_grad(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(node))


def _short(node: ast.AST) -> str:
    text = ast.unparse(node) if isinstance(node, ast.AST) and not isinstance(node, _SpanNode) else "..."
    return text if len(text) <= 50 else text[:47] + "..."


def _display_op(name: str) -> str:
    short = name.rsplit(".", 1)[-1]
    if name.startswith("torch.nn.") and short[:1].isupper():
        return "nn." + short
    if short.startswith("__"):
        return _DUNDER_SYMBOLS.get(short, short)
    return f"{short}()"


def _literal_kinds(info: OpInfo, node: ast.Call) -> dict[str, object]:
    """`True`/`False`/`None` literals passed to an op, by parameter (they select op-table variants)."""
    out: dict[str, object] = {}
    params = [p for p in info.params if p != "self"] if isinstance(node.func, ast.Attribute) and info.kind == "method" else list(info.params)
    pairs = list(zip(params, node.args)) + [(k.arg, k.value) for k in node.keywords if k.arg]
    for name, value in pairs:
        if isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, bool)):
            out[name] = value.value
    return out


def _scalar_params(node: FunctionNode) -> set[str]:
    """Parameters that hold plain Python values: a number/str/bool default, or such an annotation."""
    args = node.args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    out = {a.arg for a, d in pairs if isinstance(d, ast.Constant) and d.value is not None}
    for a in positional + args.kwonlyargs:
        if isinstance(a.annotation, ast.Name) and a.annotation.id in ("int", "float", "bool", "str"):
            out.add(a.arg)
    return out


def _tensor_params(node: FunctionNode, params: list[str], ctx: ModuleContext) -> set[str]:
    """Parameters the body treats as tensors: annotated `Tensor`, a tensor method called on them
    (`x.sigmoid()`), or passed first to a torch function (`torch.exp(x)`, `F.relu(x)`).  Without such
    evidence a parameter may just as well be a size.  Read off the source text: this runs for every
    function the analysis enters, and a regex is much cheaper than a walk of the tree."""
    wanted = set(params)
    found = set()
    for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
        if a.arg in wanted and is_tensor_annotation(a.annotation):
            found.add(a.arg)
    rest = wanted - found
    if not rest:
        return found
    text = "".join(ctx.source.lines[node.lineno - 1 : node.end_lineno])
    table = ctx.table
    for name in rest:
        for method in _methods_called_on(text, name):
            if table.inplace_method(method) is not None or table.lookup(f"Tensor.{method}") is not None:
                found.add(name)
                break
    for func, name in _calls_with_first_argument(text, rest - found):
        qualname = resolve_text(ctx.imports, func)
        if qualname is not None and qualname.startswith("torch.") and table.lookup(qualname) is not None:
            found.add(name)
    return found


# `name.method(`, and `dotted.function(name,` / `dotted.function(name)`.  Matches of either cannot
# overlap (a match can only start at a name that follows neither a word character nor a dot), so
# the matches `findall` gives are exactly those at every position where the pattern matches.
# Finding those positions from a cheap clue is what makes the two functions below fast: a regex
# that must try every position of a function's text is six times slower.
_METHOD_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*\(")
_FIRST_ARG_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*\(\s*([A-Za-z_]\w*)\s*[,)]")
# The end of a `_FIRST_ARG_CALL` match, from the last dot of the function's name on: it starts
# with a literal character, which the regex engine finds without trying every position.
_FIRST_ARG_CALL_END = re.compile(r"\.[A-Za-z_]\w*\s*\(\s*([A-Za-z_]\w*)\s*[,)]")
_NAME_CHAR = re.compile(r"[\w.]")


def _methods_called_on(text: str, name: str) -> Iterator[str]:
    """The methods of every ``_METHOD_CALL`` match in ``text`` on ``name``: one at each `name.` that matches."""
    needle = name + "."
    at = text.find(needle)
    while at >= 0:
        match = _METHOD_CALL.match(text, at)  # the lookbehind sees the text before `at`
        if match is not None:
            yield match.group(2)
        at = text.find(needle, at + 1)


def _calls_with_first_argument(text: str, names: set[str]) -> Iterator[tuple[str, str]]:
    """``_FIRST_ARG_CALL.findall(text)``, restricted to calls whose first argument is in ``names``.

    Each match ends with a ``_FIRST_ARG_CALL_END`` match (which cannot overlap another either);
    the function's full dotted name is the run of name characters and dots before it.
    """
    for end in _FIRST_ARG_CALL_END.finditer(text):
        if end.group(1) not in names:
            continue
        start = end.start()
        while start > 0 and _NAME_CHAR.match(text, start - 1):
            start -= 1
        match = _FIRST_ARG_CALL.match(text, start)
        if match is not None:
            yield match.group(1), match.group(2)

_BIN_OPS = {
    ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__", ast.FloorDiv: "__floordiv__",
    ast.Mod: "__mod__", ast.Pow: "__pow__", ast.MatMult: "__matmul__", ast.BitAnd: "__and__", ast.BitOr: "__or__",
    ast.BitXor: "__xor__", ast.LShift: "__lshift__", ast.RShift: "__rshift__",
}
_OP_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
}
_DUNDER_SYMBOLS = {f"__{v}__": s for v, s in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**"), ("matmul", "@"), ("neg", "-"))}
_AUG_OPS = {k: v + "=" for k, v in _OP_SYMBOLS.items()}
_AUG_METHODS = {
    ast.Add: "add_", ast.Sub: "sub_", ast.Mult: "mul_", ast.Div: "div_", ast.FloorDiv: "floor_divide_",
    ast.Mod: "remainder_", ast.Pow: "pow_", ast.BitAnd: "bitwise_and_", ast.BitOr: "bitwise_or_",
    ast.BitXor: "bitwise_xor_", ast.LShift: "bitwise_left_shift_", ast.RShift: "bitwise_right_shift_",
}


# ---------------------------------------------------------------------- lazily computed facts
def collect_attributes(ctx: ModuleContext, info: ClassInfo) -> None:
    """What ``self.<attr>`` holds after ``__init__`` (layers, parameters, buffers, plain tensors)."""
    for base in info.bases:
        base_info = ctx.class_info(base) if base in ctx.classes else None
        if base_info is not None:
            info.attrs.update(base_info.attrs)
            info.heap.update(base_info.heap)
    init = info.methods.get("__init__")
    if init is None:
        return
    scope = make_scope(ctx, f"{info.name}.__init__", init)
    interp = Interpreter(ctx, scope)
    state = interp.initial_state()
    state.env.pop("self", None)
    for name, ref in info.attrs.items():
        state.env[f"self.{name}"] = ref
    _exec_collecting(interp, init, state, info)


def _exec_collecting(interp: Interpreter, init: FunctionNode, state: State, info: ClassInfo) -> None:
    final = interp.exec_block(init.body, state) or state
    for states in [final] + interp.return_states:
        for key, ref in states.env.items():
            if not key.startswith("self.") or key.count(".") != 1:
                continue
            attr = key[5:]
            ref = _attribute_ref(interp.ctx, info, attr, ref, states)
            info.attrs[attr] = ref
            for sid in ref.sids:
                if sid in states.heap:
                    info.heap[sid] = states.heap[sid]
    # register_buffer / register_parameter calls
    for node in ast.walk(init):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "self" and node.func.attr in ("register_buffer", "register_parameter")):
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant) or not isinstance(node.args[0].value, str):
            continue
        attr = node.args[0].value
        is_param = node.func.attr == "register_parameter"
        sid = interp.ctx.site_id(("attr", info.name, attr))
        info.heap[sid] = Storage(leaf=Tri.YES if is_param else Tri.NO, param=is_param, buffer=not is_param,
                                 label=f"{'parameter' if is_param else 'buffer'} `self.{attr}`")
        info.attrs[attr] = Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.YES if is_param else Tri.NO)


def _attribute_ref(ctx: ModuleContext, info: ClassInfo, attr: str, ref: Ref, state: State) -> Ref:
    """Give tensor attributes a storage of their own, keyed by the attribute (stable across methods)."""
    if ref.kind is not Kind.TENSOR or not ref.sids:
        return ref
    facts = [state.heap[s] for s in ref.sids if s in state.heap]
    param = any(f.param for f in facts)
    leaf = Tri.YES if any(f.leaf is Tri.YES for f in facts) else Tri.NO
    sid = ctx.site_id(("attr", info.name, attr))
    state.heap[sid] = Storage(
        leaf=leaf, param=param, buffer=not param,
        label=f"{'parameter' if param else 'tensor attribute'} `self.{attr}`",
    )
    return Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.YES if leaf is Tri.YES else Tri.NO)


def summarize(ctx: ModuleContext, qualname: str) -> Summary | None:
    node = ctx.functions.get(qualname)
    if node is None:
        return None
    scope = make_scope(ctx, qualname, node)
    interp = Interpreter(ctx, scope)
    interp.assume_tensor_args = True
    state = interp.initial_state()
    arg_sids = {name: next(iter(state.env[name].sids)) for name in scope.params if state.env.get(name) and state.env[name].sids}
    final = interp.run(state)
    ends = [s for s in [final] + interp.return_states if s is not None]
    mutated: dict[str, tuple[Span, str, bool]] = {}
    for mutation, _ in interp.mutations:
        if mutation.through_data:
            continue
        for name, sid in arg_sids.items():
            if sid in mutation.target.sids and name not in mutated:
                mutated[name] = (mutation.span, mutation.op, mutation.grad_on)
    saved: dict[str, frozenset[Save]] = {}
    for name, sid in arg_sids.items():
        saves: set[Save] = set()
        for s in ends:
            facts = s.heap.get(sid)
            if facts is not None:
                saves |= facts.saves
        if saves:
            saved[name] = frozenset(saves)
    returns_param = None
    returns_saves: set[Save] = set()
    returns_tensor = False
    returns_grad: Tri | None = None
    for ref, end in zip(interp.returns, interp.return_states):
        if ref.is_tensorish:
            returns_grad = ref.grad if returns_grad is None else returns_grad.join(ref.grad)
        for name, sid in arg_sids.items():
            if sid in ref.sids and ref.alias is Alias.NONE:
                returns_param = name
        if ref.kind is Kind.TENSOR and ref.sids and not (set(arg_sids.values()) & ref.sids):
            returns_tensor = True
            for sid in ref.sids:
                facts = end.heap.get(sid)
                if facts is not None:
                    returns_saves |= {s for s in facts.saves if s.role == "output"}
    return Summary(
        params=tuple(scope.params),
        mutated=mutated,
        saved=saved,
        returns_param=returns_param,
        returns_saves=frozenset(returns_saves),
        returns_value=interp.returns_value,
        returns_tensor=returns_tensor,
        returns_grad=Tri.MAYBE if returns_grad is None else returns_grad,
    )
