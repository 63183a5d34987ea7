"""In-file summaries: what a class's ``__init__`` sets up, and what calling an in-file function does.

Both are computed by running the interpreter over the code in question, once per file, on demand:
``collect_attributes`` interprets ``__init__`` to learn what ``self.<attr>`` holds (layers,
parameters, buffers, plain tensors); ``summarize`` interprets a function on tensor arguments of its
own to learn which arguments it writes or saves and what it returns.  ``InterpretedContext`` is the
file context that computes them so; ``ModuleContext`` itself knows nothing of the interpreter.
"""

from __future__ import annotations

import ast

from gradsafe.analysis.context import ClassInfo, FunctionNode, ModuleContext, Summary
from gradsafe.analysis.interpreter.core import Interpreter
from gradsafe.analysis.interpreter.scope import make_scope
from gradsafe.analysis.values import Alias, Kind, Producer, Ref, Save, State, Storage, Tri, View
from gradsafe.findings import Span


class InterpretedContext(ModuleContext):
    """A file's context whose class attributes and function summaries come from the interpreter."""

    def collect_attributes(self, info: ClassInfo) -> None:
        collect_attributes(self, info)

    def summarize(self, qualname: str) -> Summary | None:
        return summarize(self, qualname)


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
    unbound: dict[str, Producer] = {}
    numpy_written: set[str] = set()
    direct: set[str] = set()
    for mutation, _ in interp.mutations:
        if mutation.through_data:
            continue
        for name, sid in arg_sids.items():
            if sid in mutation.target.sids:
                (numpy_written if mutation.target.alias is Alias.NUMPY else direct).add(name)
            if sid in mutation.target.sids and name not in mutated:
                mutated[name] = (mutation.span, mutation.op, mutation.grad_on)
            producer = mutation.target.producer
            if (sid in mutation.target.sids and mutation.target.view is View.MULTI and mutation.grad_on
                    and producer is not None and producer.iterated == name and name not in unbound):
                unbound[name] = producer
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
        unbound=unbound,
        numpy_written=frozenset(numpy_written - direct),
    )
