"""What the interpreter's rule mixins share: its state and the rules each one calls on the others.

``Interpreter`` (``core``) is assembled from mixins (``statements``, ``expressions``, ``calls``,
``torch_api``, ``modules``), and each rule calls rules that live in another mixin. Every mixin
derives from ``InterpreterBase``, which declares the state ``Interpreter.__init__`` sets and the
signatures of those shared rules, so a type checker can follow one mixin on its own. The
declarations exist for the checker only: at run time the class holds no code, and every rule is
the one its mixin defines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gradsafe.analysis.context import ModuleContext
    from gradsafe.analysis.interpreter.scope import Scope
    from gradsafe.analysis.interpreter.tables import MemberSets
    from gradsafe.analysis.mutations import Form, Mutation
    from gradsafe.analysis.optable import OpInfo
    from gradsafe.analysis.values import ModuleInfo, Ref, State
    from gradsafe.findings import Span


class MutationJudge(Protocol):
    """What the interpreter hands its writes to (``hazards.ScopeJudge``; the analysis core does not
    import the judge, which imports it)."""

    escaped: set[int]  # storages reachable from outside the function

    def on_mutation(self, m: Mutation, state: State, interp: InterpreterBase) -> None: ...

    def on_statement(self, stmt: ast.Expr, call: ast.Call, api: str, receiver_node: ast.expr, receiver: Ref,
                     state: State, interp: InterpreterBase) -> None: ...


class InterpreterBase:
    """The state of one run over a scope (set by ``Interpreter.__init__``) and the shared rules."""

    ctx: ModuleContext
    scope: Scope
    judge: MutationJudge | None  # None when only computing summaries / attributes
    grad_on: bool
    loops: list[ast.stmt]
    stmt: ast.stmt | None
    returns: list[Ref]
    return_states: list[State]
    returns_value: bool
    mutations: list[tuple[Mutation, State]]
    _break_states: list[list[State]]
    _continue_states: list[list[State]]
    higher_order: bool
    assume_tensor_args: bool
    members: MemberSets
    opt_in: int

    if TYPE_CHECKING:
        # core.Interpreter
        def __init__(self, ctx: ModuleContext, scope: Scope, judge: MutationJudge | None = None) -> None: ...

        def label(self, node: ast.AST) -> str: ...

        def mark_escaped(self, ref: Ref, state: State, returned: bool = False) -> None: ...

        def mutate(self, form: Form, op: str, node: ast.AST, target_node: ast.expr, target: Ref,
                   state: State, *, operands: list[Ref], operand_nodes: Sequence[object],
                   subscript: bool = False, method: str | None = None, bound_to: str | None = None,
                   module: ModuleInfo | None = None, helper: str | None = None,
                   helper_span: Span | None = None, inplace_saves: str | None = None,
                   grad_on: bool = True) -> None: ...

        def opt_in_flag(self, test: ast.expr) -> bool: ...

        # statements.StatementRules
        def exec_block(self, stmts: list[ast.stmt], state: State | None) -> State | None: ...

        def assign(self, target: ast.expr, value: Ref, state: State,
                   value_node: ast.AST | None) -> None: ...

        # expressions.ExpressionRules
        def eval(self, node: ast.expr, state: State, bound_to: str | None = None) -> Ref: ...

        def eval_index(self, index: ast.expr, state: State) -> bool: ...

        def binop(self, op: ast.operator, left: Ref, right: Ref, node: ast.AST,
                  state: State) -> Ref: ...

        def element_of(self, iterable: Ref, node: ast.expr) -> Ref: ...

        def unbound(self, tensor: Ref, node: ast.AST, how: str = "iteration over") -> Ref: ...

        def params_ref(self, node: ast.AST, state: State, named: bool = False) -> Ref: ...

        # calls.CallRules
        def eval_args(self, node: ast.Call, state: State) -> tuple[list[Ref], dict[str, Ref]]: ...

        def call_unknown(self, node: ast.Call, state: State) -> Ref: ...

        def call_user(self, qualname: str, node: ast.Call, state: State, bound_to: str | None,
                      self_ref: Ref | None = None) -> Ref: ...

        def on_backward(self, node: ast.Call, state: State) -> None: ...

        # torch_api.TorchApiCalls
        def call_api(self, qualname: str, node: ast.Call, state: State,
                     bound_to: str | None) -> Ref: ...

        def call_method(self, receiver: Ref, method: str, node: ast.Call, state: State,
                        bound_to: str | None) -> Ref: ...

        def apply_op(self, name: str, node: ast.AST, bound: dict[str, Ref], state: State,
                     display: str | None = None) -> Ref: ...

        def apply_bound(self, info: OpInfo, node: ast.AST, bound: dict[str, Ref], state: State,
                        display: str | None = None, params_require_grad: bool = False,
                        literals: dict[str, object] | None = None) -> Ref: ...

        def opaque_result(self, node: ast.AST, state: State, inputs: Iterable[Ref]) -> Ref: ...

        def operand_saves(self, method: str | None, display: str, node: ast.AST, receiver: Ref, args: list[Ref],
                          kwargs: dict[str, Ref], state: State) -> None: ...

        # numpy_views.NumpyCalls
        def call_numpy(self, qualname: str, node: ast.Call, state: State) -> Ref | None: ...

        # modules.ModuleCalls
        def set_module_frozen(self, owner: str, frozen: bool, state: State) -> None: ...

        def construct_module(self, api: str | None, node: ast.Call, state: State) -> Ref: ...

        def call_module(self, receiver: Ref, node: ast.Call, state: State,
                        bound_to: str | None) -> Ref: ...

        def call_module_method(self, receiver: Ref, method: str, node: ast.Call, state: State,
                               bound_to: str | None) -> Ref: ...
