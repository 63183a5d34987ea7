"""The interpreter object: the state of one run over a scope, its entry points, and its effects.

``Interpreter`` combines the rule mixins (``statements``, ``expressions``, ``calls``, ``torch_api``,
``modules``) with what they share: the frame a run starts from (``initial_state``), grad mode, the
enclosing loops, what the scope returns, and the two effects every rule can have: a value escaping
the function (``mark_escaped``) and an in-place write (``mutate``), recorded and handed to the judge.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gradsafe.analysis.interpreter.base import MutationJudge
from gradsafe.analysis.autograd_functions import function_facts
from gradsafe.analysis.interpreter.calls import CallRules
from gradsafe.analysis.interpreter.containers import container_params
from gradsafe.analysis.interpreter.expressions import ExpressionRules
from gradsafe.analysis.interpreter.modules import ModuleCalls
from gradsafe.analysis.interpreter.numpy_views import NumpyCalls
from gradsafe.analysis.interpreter.scope import Scope, scalar_params, tensor_params
from gradsafe.analysis.interpreter.statements import StatementRules
from gradsafe.analysis.interpreter.syntax import mentions_grad, reads_grad_of, short_text
from gradsafe.analysis.interpreter.tables import member_sets
from gradsafe.analysis.interpreter.torch_api import TorchApiCalls
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import UNKNOWN, VALUE, Alias, Kind, ModuleInfo, Ref, Save, State, Storage, Tri
from gradsafe.findings import Span

if TYPE_CHECKING:
    from gradsafe.analysis.context import FunctionNode, ModuleContext


class Interpreter(StatementRules, ExpressionRules, CallRules, TorchApiCalls, ModuleCalls, NumpyCalls):
    """Interprets one function body (or the module body) once."""

    def __init__(self, ctx: ModuleContext, scope: Scope, judge: MutationJudge | None = None) -> None:
        self.ctx = ctx
        self.scope = scope
        self.judge = judge  # hazards.ScopeJudge, or None when only computing summaries / attributes
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
        self.members = member_sets(ctx.table)  # the member names the rules test
        self.opt_in = 0  # inside the branch an opt-in `inplace` flag (default False) selects

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
            scalars = scalar_params(node)
            assumed = self.scope.is_forward or self.assume_tensor_args
            evidence: set[str] | None = None  # read off the function's text, when a parameter first needs it

            def tensor_evidence() -> set[str]:
                nonlocal evidence
                if evidence is None:
                    evidence = tensor_params(node, self.scope.params, self.ctx) | self._function_tensor_inputs(node)
                return evidence

            text = "".join(self.ctx.source.lines[node.lineno - 1 : node.end_lineno])
            open_params = [p for p in self.scope.params if (arg_refs is None or p not in arg_refs) and p not in scalars]
            containers = container_params(node, open_params, text, tensor_evidence)
            for name in self.scope.params:
                if arg_refs is not None and name in arg_refs:
                    state.env[name] = arg_refs[name]
                    continue
                if name in scalars:
                    state.env[name] = VALUE
                    continue
                sid = self.ctx.site_id(("arg", self.scope.qualname, name))
                state.heap[sid] = Storage(leaf=Tri.MAYBE, arg=name, label=f"argument `{name}`")
                if name in containers:
                    # A list or dict of tensors: a slot assignment writes no tensor; what its
                    # elements are is known only from an annotation.
                    element = Ref(Kind.TENSOR, frozenset({sid}), grad=Tri.MAYBE) if containers[name] else None
                    state.env[name] = Ref(Kind.SEQUENCE, element=element)
                    continue
                if assumed:
                    kind = Kind.TENSOR
                else:
                    kind = Kind.TENSOR if name in tensor_evidence() else Kind.UNKNOWN
                state.env[name] = Ref(kind, frozenset({sid}), grad=Tri.MAYBE)
            for extra in (node.args.vararg, node.args.kwarg):
                if extra is not None:
                    state.env[extra.arg] = UNKNOWN
        return state

    def _function_tensor_inputs(self, node: FunctionNode) -> set[str]:
        """In a custom autograd.Function's ``forward``: the inputs it saves, marks dirty or returns."""
        cls = self.scope.class_name
        if cls is None or node.name != "forward" or not self.ctx.is_autograd_function(cls):
            return set()
        facts = function_facts(self.ctx, cls)
        if facts is None:
            return set()
        return set(facts.saved | facts.dirty) | ({facts.returns_input} if facts.returns_input else set())

    def opt_in_flag(self, test: ast.expr) -> bool:
        """``self.inplace`` (the class's ``__init__`` takes ``inplace=False``) or ``inplace`` (this
        function takes ``inplace=False``): an in-place variant the caller must ask for."""
        node: ast.AST | None = None
        if isinstance(test, ast.Attribute) and test.attr == "inplace" and isinstance(test.value, ast.Name) \
                and test.value.id == "self" and self.scope.class_name:
            found = self.ctx.find_method(self.scope.class_name, "__init__")
            node = found[1] if found else None
        elif isinstance(test, ast.Name) and test.id == "inplace":
            node = self.scope.node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        args = node.args
        positional = args.posonlyargs + args.args
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        return any(a.arg == "inplace" and isinstance(d, ast.Constant) and d.value is False for a, d in pairs)

    def run(self, state: State) -> State | None:
        body = self.scope.node.body
        return self.exec_block(body, state)

    # ------------------------------------------------------------------ effects
    def label(self, node: ast.AST) -> str:
        """``node``'s source, shortened for a message.  Unparsed once per node: loops and summaries
        evaluate the same nodes again, and ``ast.unparse`` is slow."""
        text = self.ctx.labels.get(node)
        if text is None:
            text = self.ctx.labels[node] = short_text(node)
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

    def mutate(self, form: Form, op: str, node: ast.AST, target_node: ast.expr, target: Ref, state: State, *,
               operands: list[Ref], operand_nodes: Sequence[object], subscript: bool = False, method: str | None = None,
               bound_to: str | None = None, module: ModuleInfo | None = None, helper: str | None = None,
               helper_span: Span | None = None, inplace_saves: str | None = None, grad_on: bool = True) -> None:
        through_data = target.alias is Alias.DATA
        inner = target_node
        while isinstance(inner, ast.Subscript):
            subscript = True
            inner = inner.value
        name = dotted(inner)
        if isinstance(inner, ast.Attribute) and inner.attr == "data":
            name = dotted(inner.value)
            through_data = True
        mention_grad = any(mentions_grad(n) for n in operand_nodes if isinstance(n, ast.AST))
        own_grad = mention_grad and name is not None and any(
            reads_grad_of(n, name) for n in operand_nodes if isinstance(n, ast.AST))
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
            grad_on=grad_on and self.grad_on, reads_own_grad=own_grad, opt_in=self.opt_in > 0,
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

