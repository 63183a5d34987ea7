"""Statement rules: how each kind of statement changes the abstract state.

Assignments bind names (and unpack tuples); augmented assignments and subscript stores on tensors
are in-place writes (``mutate``).  Branches are joined, loops iterate to a fixpoint (at most
``MAX_LOOP_ITERATIONS`` rounds), ``with torch.no_grad()`` switches grad mode for its body, and
``return`` records what the scope returns.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from gradsafe.analysis.interpreter.base import InterpreterBase
from gradsafe.analysis.interpreter.joins import forget_unreachable_saves, join_refs, join_states, same_states
from gradsafe.analysis.interpreter.syntax import reads_grad_of
from gradsafe.analysis.interpreter.tables import AUG_METHODS, AUG_OPS, MAX_LOOP_ITERATIONS
from gradsafe.analysis.mutations import Form
from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import UNKNOWN, VALUE, Kind, Ref, State, Tri, View


# Methods that return one tensor (never a tuple): unpacking their result unbinds it.
_ONE_TENSOR_METHODS = frozenset({
    "view", "reshape", "transpose", "permute", "t", "unsqueeze", "squeeze", "flatten", "unflatten",
    "contiguous", "clone", "movedim", "swapaxes", "swapdims", "flip", "view_as", "reshape_as", "expand",
})


def one_tensor(node: ast.expr) -> bool:
    """``node`` certainly evaluates to a single tensor, not a tuple that happens to be typed as one:
    a name, an indexing, ``.T``/``.mT``, or a view-like method call."""
    if isinstance(node, (ast.Name, ast.Subscript)):
        return True
    if isinstance(node, ast.Attribute):
        return node.attr in ("T", "mT", "H", "mH")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in _ONE_TENSOR_METHODS
    return False


def parameters_flag(stmt: ast.For | ast.AsyncFor) -> tuple[str, bool] | None:
    """``for p in fused.parameters(): p.requires_grad = False`` (or ``p.requires_grad_(False)``):
    the module's name and the flag its parameters get."""
    it, target = stmt.iter, stmt.target
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr == "parameters"
            and isinstance(target, ast.Name)):
        return None
    owner = dotted(it.func.value)
    if owner is None:
        return None
    for body_stmt in stmt.body:
        if isinstance(body_stmt, ast.Assign) and len(body_stmt.targets) == 1:
            t, v = body_stmt.targets[0], body_stmt.value
            if isinstance(t, ast.Attribute) and t.attr == "requires_grad" and isinstance(t.value, ast.Name) \
                    and t.value.id == target.id and isinstance(v, ast.Constant) and isinstance(v.value, bool):
                return owner, v.value
        if isinstance(body_stmt, ast.Expr) and isinstance(body_stmt.value, ast.Call):
            call = body_stmt.value
            if isinstance(call.func, ast.Attribute) and call.func.attr == "requires_grad_" \
                    and isinstance(call.func.value, ast.Name) and call.func.value.id == target.id \
                    and len(call.args) == 1 and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, bool):
                return owner, call.args[0].value
    return None


class StatementRules(InterpreterBase):
    """The ``stmt_*`` rules, the loop fixpoint and assignment to targets (a mixin of ``Interpreter``)."""

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
            method: Callable[[ast.stmt, State], State | None] | None = getattr(self, "stmt_" + type(stmt).__name__, None)
            if method is None:
                return state
            return method(stmt, state)
        finally:
            self.stmt = outer

    def stmt_Expr(self, stmt: ast.Expr, state: State) -> State:
        call = stmt.value
        discarded = None
        if self.judge is not None and isinstance(call, ast.Call):
            from gradsafe.analysis.pure_calls import discarded_api

            func = call.func
            qualname = self.ctx.imports.resolve(func)
            if isinstance(func, ast.Name) and func.id in state.env:
                qualname = None
            found = discarded_api(call, qualname)
            if found is not None:  # what the call works on, read before the call runs
                discarded = (found[0], found[1], self.eval(found[1], state))
        self.eval(call, state)
        if discarded is not None and self.judge is not None and isinstance(call, ast.Call):
            api, receiver_node, receiver = discarded
            self.judge.on_statement(stmt, call, api, receiver_node, receiver, state, self)
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
                    Form.AUGASSIGN, AUG_OPS.get(type(stmt.op), "op="), stmt, target.value, base, state,
                    operands=[operand], operand_nodes=[stmt.value], subscript=True,
                )
                self.operand_saves(AUG_METHODS.get(type(stmt.op)), AUG_OPS.get(type(stmt.op), "op="), stmt,
                                   base, [operand], {}, state)
            return state
        current = self.eval(target, state)
        # `p -= lr * p.grad`: whatever `p` came from, it has a `.grad`, so it is a tensor.
        own_grad = current.kind is Kind.UNKNOWN and reads_grad_of(stmt.value, dotted(target) or "")
        if isinstance(stmt.op, ast.MatMult) or (current.kind is not Kind.TENSOR and not own_grad):
            # `@=` is not in-place (Tensor has no __imatmul__); numbers are rebound.
            result = self.binop(stmt.op, current, operand, stmt, state)
            self.assign(target, result, state, stmt)
            return state
        self.mutate(
            Form.AUGASSIGN, AUG_OPS.get(type(stmt.op), "op="), stmt, target, current, state,
            operands=[operand], operand_nodes=[stmt.value],
            method=AUG_METHODS.get(type(stmt.op)),
        )
        self.operand_saves(AUG_METHODS.get(type(stmt.op)), AUG_OPS.get(type(stmt.op), "op="), stmt, current,
                           [operand], {}, state)
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
            key = dotted(target)
            if key is not None:
                state.env.pop(key, None)
        return state

    def stmt_If(self, stmt: ast.If, state: State) -> State | None:
        self.eval(stmt.test, state)
        opt_in = int(self.opt_in_flag(stmt.test))  # `if self.inplace:` with `inplace=False` by default
        self.opt_in += opt_in
        entry = dict(state.heap)
        try:
            then = self.exec_block(stmt.body, state.copy())
        finally:
            self.opt_in -= opt_in
        other = self.exec_block(stmt.orelse, state.copy()) if stmt.orelse else state
        keep = self.kept_storages()
        forget_unreachable_saves(entry, then, keep)
        if other is not state:
            forget_unreachable_saves(entry, other, keep)
        return join_states(then, other)

    def kept_storages(self) -> set[int]:
        """Storages reachable by means other than a name: escaped ones and the file's globals."""
        judge = getattr(self, "judge", None)
        escaped: set[int] = set(judge.escaped) if judge is not None else set()
        return escaped | set(self.ctx.global_heap)

    def stmt_For(self, stmt: ast.For | ast.AsyncFor, state: State) -> State | None:
        iterable = self.eval(stmt.iter, state)
        element = self.element_of(iterable, stmt.iter)
        after = self.loop(stmt, state, lambda s: self.assign(stmt.target, element, s, stmt.iter), stmt.orelse)
        frozen = parameters_flag(stmt)
        if after is not None and frozen is not None:
            self.set_module_frozen(frozen[0], not frozen[1], after)
        return after

    def set_requires_grad(self, base_node: ast.expr, flag: bool, state: State) -> None:
        """``base.requires_grad = flag``: a tensor's (or every parameter's of a module) leaf status."""
        base = self.eval(base_node, state)
        key = dotted(base_node)
        if base.kind is Kind.MODULE and key is not None:
            self.set_module_frozen(key, not flag, state)
        elif base.is_tensorish and base.sids and base.view is View.NONE:
            state.update(base.sids, leaf=Tri.YES if flag else Tri.NO)
            if key is not None:
                state.env[key] = base.with_(grad=Tri.YES if flag else Tri.NO)

    stmt_AsyncFor = stmt_For

    def stmt_While(self, stmt: ast.While, state: State) -> State | None:
        return self.loop(stmt, state, lambda s: self.eval(stmt.test, s), stmt.orelse)

    def loop(self, stmt: ast.For | ast.AsyncFor | ast.While, state: State, head: Callable[[State], object],
             orelse: list[ast.stmt]) -> State | None:
        self.loops.append(stmt)
        self._break_states.append([])
        self._continue_states.append([])
        entry = state
        current = state.copy()
        exit_state: State | None = state.copy()
        try:
            for _ in range(MAX_LOOP_ITERATIONS):
                head(current)
                self._continue_states[-1] = []
                after = self.exec_block(stmt.body, current.copy())
                for s in self._continue_states[-1]:
                    after = join_states(after, s)
                if after is None:
                    break
                merged = entry.join(after)
                if same_states(merged, current):
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
            exit_state = join_states(exit_state, b)
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
            result = join_states(result, self.exec_block(handler.body, start))
        if stmt.finalbody:
            start = result if result is not None else state.copy()
            after = self.exec_block(stmt.finalbody, start)
            return after if result is not None else None
        return result

    stmt_TryStar = stmt_Try

    def stmt_Match(self, stmt: ast.Match, state: State) -> State | None:
        self.eval(stmt.subject, state)
        result: State | None = None
        for case in stmt.cases:
            result = join_states(result, self.exec_block(case.body, state.copy()))
        return join_states(result, state)

    def stmt_FunctionDef(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, state: State) -> State:
        state.env[stmt.name] = Ref(Kind.FUNCTION)
        return state

    stmt_AsyncFunctionDef = stmt_FunctionDef
    stmt_ClassDef = stmt_FunctionDef

    def stmt_Import(self, stmt: ast.Import | ast.ImportFrom, state: State) -> State:
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
                    item = join_refs(items)
                elif value.known_tensor and isinstance(value_node, ast.expr) and one_tensor(value_node):
                    # Unpacking a tensor unbinds it along dim 0: multi-output views.
                    item = self.unbound(value, value_node, "unpacking of")
                elif value.kind is Kind.TENSOR:
                    # A tuple-returning op (`torch.max(x, 1)`, an LSTM) yields tensors that
                    # require grad exactly when its result does.
                    item = value.with_(view=View.VIEW if value.view is View.NONE else value.view, producer=None)
                else:
                    item = UNKNOWN
                self.assign(elt, item, state, value_node)
        elif isinstance(target, ast.Attribute):
            key = dotted(target)
            if target.attr == "requires_grad" and isinstance(value_node, ast.Constant) and isinstance(value_node.value, bool):
                self.set_requires_grad(target.value, value_node.value, state)
            if key is not None:
                state.env[key] = value
                if key.startswith("self."):
                    self.mark_escaped(value, state)
            else:
                self.eval(target.value, state)
        elif isinstance(target, ast.Subscript):
            base = self.eval(target.value, state)
            self.eval_index(target.slice, state)
            # A string key: whatever the name was thought to hold, it is a dict, not a tensor.
            str_key = isinstance(target.slice, (ast.Constant, ast.JoinedStr)) and not isinstance(
                getattr(target.slice, "value", None), (int, type(None), type(Ellipsis)))
            if base.kind is Kind.TENSOR and isinstance(self.stmt, ast.Assign) and not str_key:
                self.mutate(
                    Form.SETITEM, "[]=", self.stmt, target.value, base, state,
                    operands=[value], operand_nodes=[value_node] if isinstance(value_node, ast.expr) else [],
                    subscript=True,
                )
            else:
                self.mark_escaped(value, state)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, UNKNOWN, state, value_node)

