"""The fix planners: the smallest rewrite that keeps what the code computes, or why there is none.

A rule's ``remedy`` (in ``gradsafe.analysis.checks``) picks a planner here; the planner builds the
``Fix`` with its pass's typed parameters (``gradsafe.transforms.params``), or declines with a
reason the report shows, where every rewrite would change what the code computes:

* another live name still holds the tensor (an alias, a view's base, an attribute, a container):
  rebinding one name hides the write from the others;
* an in-place activation whose input is read again afterwards (``a = relu_(h); a + h``);
* a leaf whose ``.grad`` is read later (an out-of-place rebinding makes a non-leaf);
* a ``.data``/``.detach()`` write that the forward itself observes afterwards, or that is meant
  for the caller's tensor or the module's parameter or buffer;
* a write to an argument of a function that returns nothing (its callers see it only through
  their tensor), and a helper exported in ``__all__`` (callers elsewhere cannot be rebound);
* parameter updates that must stay differentiable (``create_graph=True``).

Planners take the write (``Mutation``), the abstract state at it, and a ``FixContext``: the file,
the scope and what the interpreter knows beyond the state.  Nothing here knows the rules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.names import dotted
from gradsafe.analysis.values import Alias, Kind, ModuleInfo, Save, State, Tri, View
from gradsafe.findings import Fix, FixKind, FixSafety
from gradsafe.transforms.params import (
    DEFAULT_OFF,
    CloneParams,
    HelperReturnParams,
    InplaceFlagParams,
    NoGradParams,
    OutOfPlaceParams,
    ParameterLocalParams,
    RowViewsParams,
)

if TYPE_CHECKING:
    from gradsafe.analysis.context import ModuleContext
    from gradsafe.analysis.interpreter import Scope
    from gradsafe.analysis.liveness import Reads

Plan = tuple[Fix | None, str | None]


@dataclass(frozen=True)
class FixContext:
    """What a planner needs to know besides the write and the state at it."""

    ctx: ModuleContext  # the file
    scope: Scope  # the function (or module body) being judged
    escaped: set[int]  # storages reachable from outside the scope (attributes, containers, calls)
    higher_order: bool  # the write follows `create_graph=True`: updates must stay differentiable

    @property
    def reads(self) -> Reads:
        """Where names are read in the scope (built on first use, see ``ModuleContext.reads``)."""
        return self.ctx.reads(self.scope.node)


def by_form(m: Mutation, state: State, fx: FixContext, saves: frozenset[Save]) -> Plan:
    """The usual fix of a write that must stop being in place, chosen by how it is spelled."""
    if m.form in (Form.INPLACE_KWARG, Form.MODULE, Form.SEQUENTIAL):
        return inplace_flag(m, state, fx)
    if m.subscript:
        return clone(m, state, fx, saves=saves)
    if m.form in (Form.METHOD, Form.AUGASSIGN, Form.FUNCTION, Form.OUT):
        return out_of_place(m, state, fx, saves)
    return None, "no automatic rewrite for this form"


def leaf_rebinding_problem(m: Mutation, fx: FixContext) -> str | None:
    """Why rebinding a leaf's name would change the program: its ``.grad`` is read, or it is an attribute."""
    if m.name and fx.reads.grad_read_after(m.name, m.stmt):
        return f"`{m.name}.grad` is read later: rebinding `{m.name}` would make it a non-leaf whose `.grad` stays None"
    if m.name and m.name.startswith("self."):
        return "the leaf is a module attribute; rebinding it would replace the parameter"
    return None


# ---------------------------------------------------------------------- aliasing
def other_live_names(m: Mutation, state: State, fx: FixContext, *, allow: tuple[str | None, ...] = ()) -> list[str]:
    """Names (other than the written one) that hold the same storage and are read after the write."""
    sids = m.target.sids
    if not sids:
        return []
    skip = {m.name, *allow}
    names = []
    for name in state.names_of(sids):
        if name in skip or name == "self":
            continue
        ref = state.env[name]
        if m.target.view is View.MULTI and ref.view is View.MULTI:
            continue  # sibling outputs of chunk/split/unbind do not overlap
        if ref.kind not in (Kind.TENSOR, Kind.UNKNOWN):
            continue
        if name.startswith("self.") or fx.reads.read_after(name, m.stmt):
            names.append(name)
    return names


def _escaped(m: Mutation, fx: FixContext) -> bool:
    return bool(m.target.sids & fx.escaped)


def _alias_problem(m: Mutation, state: State, fx: FixContext, allow: tuple[str | None, ...] = ()) -> str | None:
    live = other_live_names(m, state, fx, allow=allow)
    if live:
        shown = ", ".join(f"`{n}`" for n in live[:3])
        return f"{shown} still refer{'s' if len(live) == 1 else ''} to the same tensor and would stop seeing the write"
    if _escaped(m, fx):
        return "the tensor is also stored elsewhere (an attribute, a container or a call), which would stop seeing the write"
    return None


def writes_callers_tensor(m: Mutation, state: State) -> bool:
    """Does the write reach a tensor the caller passed in?"""
    return any(f.arg for _, f in state.storages(m.target))


def _argument_problem(m: Mutation, fx: FixContext) -> str | None:
    """A function that returns nothing shows its callers a write to an argument only through their tensor.

    Rebinding the parameter would make every call do nothing for them: the fix belongs at the
    call sites (for an in-file helper, GS502's helper-return fix changes both).
    """
    func = fx.scope.node
    if m.name is None or "." in m.name or not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    args = func.args
    if m.name not in {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)} or returns_a_value(func):
        return None
    return (f"`{m.name}` is an argument of `{func.name}()`, which returns nothing: its callers see the write "
            "only through their tensor")


def returns_a_value(func: ast.AST) -> bool:
    """Does a ``return`` of ``func``'s own body (not of a nested function) carry a value?"""
    pending = list(ast.iter_child_nodes(func))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return False


# ---------------------------------------------------------------------- out-of-place
def out_of_place(m: Mutation, state: State, fx: FixContext,
                 saves: frozenset[Save] = frozenset()) -> Plan:
    if m.name is None:
        return _rename_temporary(m, state, fx)
    problem = _argument_problem(m, fx)
    if problem:
        return None, problem
    if m.through_data and m.target_node is not None and not (isinstance(m.target_node, ast.Attribute) and m.target_node.attr == "data"):
        return None, "the write goes through a `.data` alias"
    problem = _alias_problem(m, state, fx, allow=(m.result_bound_to,))
    if problem:
        return None, problem
    read_later = m.name.startswith("self.") or fx.reads.read_after(m.name, m.stmt)
    method = function = replacement = operator = None
    if m.form is Form.METHOD:
        info = fx.ctx.table.inplace_method(m.op)
        if info is None or info.out_of_place is None:
            return clone(m, state, fx, saves=saves)
        method, replacement = m.op, info.out_of_place
        if read_later:
            description = f"rewrite `{m.name}.{m.op}(...)` as `{m.name} = {m.name}.{info.out_of_place}(...)`"
        else:
            description = f"use `{m.name}.{info.out_of_place}(...)` instead of `{m.op}` (`{m.name}` is not read afterwards)"
    elif m.form is Form.AUGASSIGN:
        operator = m.op
        description = f"rewrite `{m.name} {m.op} ...` as `{m.name} = {m.name} {m.op[:-1]} ...`"
    elif m.form is Form.FUNCTION:
        replacement = fx.ctx.table.inplace_functions.get(m.method or "")
        if replacement is None:
            return None, f"no out-of-place form of `{m.op}` is known"
        function = m.method
        description = f"rewrite `{m.op}({m.name})` as `{m.name} = {replacement.replace('torch.nn.functional.', 'F.')}({m.name})`"
    else:  # Form.OUT
        if not isinstance(m.target_node, ast.Name):
            return None, "the `out=` target is not a plain name"
        description = f"rewrite `out={m.name}` as an assignment to `{m.name}`"
    safety = FixSafety.SAFE
    if m.form is Form.OUT or m.through_data or writes_callers_tensor(m, state) or not _dtype_shape_safe(m, state):
        safety = FixSafety.NEEDS_VERIFICATION
    params = OutOfPlaceParams(name=m.name, form=m.form.value, read_later=read_later, method=method, function=function,
                              replacement=replacement, operator=operator, through_data=m.through_data)
    return Fix(FixKind.OUT_OF_PLACE, m.span, description, safety, params), None


def _rename_temporary(m: Mutation, state: State, fx: FixContext) -> Plan:
    """`s.sqrt().add_(eps)`: the written tensor is a fresh result nothing else names; use `add`."""
    if m.form is not Form.METHOD or not isinstance(m.target_node, ast.Call):
        return None, "the written tensor has no name to rebind"
    if state.names_of(m.target.sids) or m.target.view is not View.NONE or m.target.alias is not Alias.NONE:
        return None, "the written tensor is also reachable through another name"
    if any(f.arg or f.param or f.buffer for _, f in state.storages(m.target)) or not m.target.sids:
        return None, "the written tensor is not a fresh result"
    info = fx.ctx.table.inplace_method(m.op)
    if info is None or info.out_of_place is None:
        return None, f"no out-of-place form of `{m.op}` is known"
    return (
        Fix(FixKind.OUT_OF_PLACE, m.span, f"use `{info.out_of_place}` instead of `{m.op}` on the temporary",
            FixSafety.SAFE, OutOfPlaceParams(name=None, form="method", method=m.op, replacement=info.out_of_place,
                                             read_later=False)),
        None,
    )


def _dtype_shape_safe(m: Mutation, state: State) -> bool:
    """`x += 1.0` on a floating result keeps dtype and shape; a tensor operand may broadcast or promote."""
    if m.form is Form.AUGASSIGN or m.form is Form.METHOD:
        node = m.node
        operands: list[ast.expr] = []
        if isinstance(node, ast.AugAssign):
            operands = [node.value]
        elif isinstance(node, ast.Call):
            operands = list(node.args) + [k.value for k in node.keywords]
        if any(not _is_number(o) for o in operands):
            return False
        return m.target.producer is not None and m.target.kind is Kind.TENSOR
    return True


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return _is_number(node.operand)
    return False


# ---------------------------------------------------------------------- clone
def clone(m: Mutation, state: State, fx: FixContext, caller_visible: bool = False,
           saves: frozenset[Save] = frozenset()) -> Plan:
    name = m.name
    if name is None:
        return None, "the written tensor has no name to clone"
    if name.startswith("self."):
        return None, f"`{name}` is a module attribute; cloning it would replace what other methods see"
    bound = state.env.get(name)
    if bound is not None and bound.kind is not Kind.TENSOR:
        # `x = x.clone()` on a list or a dict raises AttributeError: never clone what may not be a tensor.
        return None, f"`{name}` may not be a tensor (a list or a dict has no `.clone()`)"
    if m.target.view is not View.NONE and not m.subscript:
        return None, f"`{name}` is a view; a clone would detach it from its base"
    problem = _alias_problem(m, state, fx)
    if problem:
        return None, problem
    operand = saved_operand_of_write(m, fx, saves)
    if operand is not None:
        # `f[i] = f[i - 1] * x`: the statement saves a view of `f` and then writes `f`; a clone
        # before the statement would be saved and written alike.  The op keeps a copy instead.
        text = fx.ctx.text(fx.ctx.span(operand))
        return (Fix(FixKind.CLONE, fx.ctx.span(operand), f"save a copy: `{text}.clone()` (line {m.span.line} writes `{name}` after saving it)",
                    FixSafety.NEEDS_VERIFICATION, CloneParams(mode="expression")), None)
    anchor = insertion_point(m, fx, saves)
    description = f"insert `{name} = {name}.clone()` before line {anchor.lineno}"
    if caller_visible:
        description += "; the caller's tensor is no longer modified"
    safety = FixSafety.NEEDS_VERIFICATION if caller_visible or writes_callers_tensor(m, state) else FixSafety.SAFE
    return Fix(FixKind.CLONE, fx.ctx.span(anchor), description, safety, CloneParams(name=name, mode="statement")), None


def saved_operand_of_write(m: Mutation, fx: FixContext, saves: frozenset[Save]) -> ast.expr | None:
    """The one operand reading the written name (``f[i - 1]``, ``curve[:, t - 1]``) that an op of the
    writing statement itself saved, when every save the write overwrites was made there (in a loop,
    by the same statement in an earlier iteration): cloning that operand keeps the save intact."""
    stmt, name = m.stmt, m.name
    if not saves or name is None or not isinstance(stmt, (ast.Assign, ast.AugAssign)):
        return None
    start, end = (stmt.lineno, stmt.col_offset), (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
    if any(s.role != "input" or s.via or not start <= (s.span.line, s.span.col) <= end for s in saves):
        return None
    spans = {s.span for s in saves}
    found: list[ast.expr] = []
    for node in ast.walk(stmt):
        if not isinstance(node, (ast.expr, ast.stmt)) or fx.ctx.span(node) not in spans:
            continue
        for operand in _operands(node):
            if _reads_name(operand, name) and operand not in found:
                found.append(operand)
    return found[0] if len(found) == 1 else None


def _operands(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.AugAssign):
        return [node.value]
    if isinstance(node, ast.Call):
        receiver = [node.func.value] if isinstance(node.func, ast.Attribute) else []
        return receiver + [a for a in node.args if not isinstance(a, ast.Starred)] + [k.value for k in node.keywords]
    return []


def _reads_name(node: ast.expr, name: str) -> bool:
    """``name`` or an indexing of it (``name[i - 1]``, ``name[:, t]``)."""
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id == name


def insertion_point(m: Mutation, fx: FixContext, saves: frozenset[Save] = frozenset()) -> ast.stmt:
    """The statement before which a clone goes: just before the write, hoisted out of loops that
    neither bind the name nor save the value (one clone before the loop suffices)."""
    stmt = m.stmt
    name = m.name or ""
    anchor = stmt
    for loop in reversed(fx.reads.enclosing_loops(stmt)):
        if fx.reads.assigns(loop, name) or _loop_target_binds(loop, name):
            break
        if _saves_inside(saves, loop):
            break
        anchor = loop
    return anchor


def _loop_target_binds(loop: ast.stmt, name: str) -> bool:
    target = getattr(loop, "target", None)
    return target is not None and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target))


def _saves_inside(saves: frozenset[Save], loop: ast.stmt) -> bool:
    """A clone hoisted above ``loop`` would be saved again inside it before the write."""
    start, end = (loop.lineno, loop.col_offset), (loop.end_lineno or loop.lineno, loop.end_col_offset or 0)
    return any(start <= (s.span.line, s.span.col) <= end for s in saves)


# ---------------------------------------------------------------------- inplace flags
def module_use_problem(m: Mutation, state: State, fx: FixContext) -> str | None:
    """Would turning off ``inplace`` change what this call of an in-place module computes?"""
    if isinstance(m.stmt, ast.Expr):
        return "the call's result is discarded: the code relies on the in-place write"
    live = other_live_names(m, state, fx, allow=(m.result_bound_to,))
    if m.name and m.name != m.result_bound_to and fx.reads.read_after(m.name, m.stmt):
        live = [m.name, *live]
    if live:
        shown = ", ".join(f"`{n}`" for n in live[:3])
        return f"{shown} is read after the in-place activation: turning `inplace` off would change the result"
    return None


def construction_description(module: ModuleInfo, fx: FixContext) -> str:
    """What the construction rewrite will do (``gradsafe.transforms.inplace_flag``): a lone flag of a
    torch module that is off by default is dropped (``nn.ReLU()``), otherwise set to ``False``."""
    site = module.site
    call = next((n for n in ast.walk(fx.ctx.tree) if isinstance(n, ast.Call) and site is not None
                 and n.lineno == site.line and fx.ctx.span(n) == site), None)
    if call is not None and len(call.args) + len(call.keywords) == 1:
        flag = call.keywords[0].value if call.keywords and call.keywords[0].arg == "inplace" else (call.args[0] if call.args else None)
        *qualifier, last = (dotted(call.func) or "").split(".")
        if isinstance(flag, ast.Constant) and flag.value is True and last in DEFAULT_OFF \
                and (not qualifier or qualifier[-1] == "nn"):
            return f"construct `{module.display}()` without `inplace=True` (off by default)"
    return f"construct `{module.display}` with `inplace=False`"


def inplace_flag(m: Mutation, state: State, fx: FixContext) -> Plan:
    if m.form is Form.SEQUENTIAL:
        assert m.module is not None and m.module.site is not None
        return Fix(FixKind.INPLACE_FLAG, m.module.site, construction_description(m.module, fx),
                   FixSafety.SAFE, InplaceFlagParams(mode="construction")), None
    if m.form is Form.MODULE:
        assert m.module is not None
        if m.module.site is None:
            return None, "the module is built where gradsafe cannot see it"
        if not m.module.certain:
            return None, "the module is chosen at run time from several alternatives"
        problem = module_use_problem(m, state, fx)
        if problem:
            return None, problem
        return Fix(FixKind.INPLACE_FLAG, m.module.site, construction_description(m.module, fx),
                   FixSafety.SAFE, InplaceFlagParams(mode="construction")), None
    # F.relu(x, inplace=True) / torch.relu_(x)
    if isinstance(m.stmt, ast.Expr) and isinstance(m.stmt.value, ast.Call) and m.stmt.value is m.node:
        # The statement relies on the write: rebind the name to the result instead.
        if m.name is None or "." in m.name:
            return None, "the call's result is discarded and the input has no plain name to rebind"
        problem = _argument_problem(m, fx) or _alias_problem(m, state, fx)
        if problem:
            return None, problem
        return Fix(FixKind.INPLACE_FLAG, m.span, f"drop `inplace=True` and assign the result to `{m.name}`",
                   FixSafety.SAFE, InplaceFlagParams(mode="call", rebind=m.name)), None
    if m.name is not None and m.name != m.result_bound_to and fx.reads.read_after(m.name, m.stmt):
        return None, f"`{m.name}` is read after the in-place activation: turning `inplace` off would change the result"
    problem = _alias_problem(m, state, fx, allow=(m.result_bound_to,))
    if problem:
        return None, problem
    return Fix(FixKind.INPLACE_FLAG, m.span, "drop `inplace=True`", FixSafety.SAFE, InplaceFlagParams(mode="call")), None


# ---------------------------------------------------------------------- no_grad
def no_grad(m: Mutation, fx: FixContext, strip_data: bool = False) -> Plan:
    if fx.higher_order:
        return None, "the update follows `create_graph=True`: it must stay differentiable, so `no_grad` would drop terms"
    stmt = m.stmt
    description = "wrap the update in `with torch.no_grad():`"
    params = NoGradParams(strip_data=strip_data)
    return Fix(FixKind.NO_GRAD, fx.ctx.span(stmt), description, FixSafety.SAFE, params), None


# ---------------------------------------------------------------------- parameters
def parameter_local(m: Mutation, fx: FixContext) -> Plan:
    assert m.name is not None
    attr = m.name.split(".", 1)[1]
    if "." in attr:
        return None, f"`{m.name}` belongs to a submodule"
    if m.subscript or not isinstance(m.stmt, (ast.Expr, ast.AugAssign)):
        return None, "only whole-statement writes to a parameter are rewritten to a local"
    if isinstance(m.stmt, ast.Expr) and m.stmt.value is not m.node:
        return None, "the write is part of a larger expression"
    local = attr
    func = fx.scope.node
    used = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
    if local in used:
        return None, f"the local name `{local}` is already used in `{fx.scope.qualname}`"
    if m.form is Form.METHOD:
        info = fx.ctx.table.inplace_method(m.op)
        if info is None or info.out_of_place is None:
            return None, f"no out-of-place form of `{m.op}` is known"
        replacement = info.out_of_place
    elif m.form is Form.AUGASSIGN:
        replacement = None
    else:
        return None, "no automatic rewrite for this form"
    description = f"compute `{local} = {m.name}...` once and use `{local}` for the rest of `{fx.scope.qualname}`"
    return (
        Fix(FixKind.PARAMETER_LOCAL, fx.ctx.span(m.stmt), description, FixSafety.NEEDS_VERIFICATION,
            ParameterLocalParams(
                attr=m.name, local=local, method=m.op if m.form is Form.METHOD else None, replacement=replacement,
                operator=m.op if m.form is Form.AUGASSIGN else None,
                function=fx.ctx.span(func) if isinstance(func, ast.AST) and hasattr(func, "lineno") else None)),
        None,
    )


# ---------------------------------------------------------------------- helpers
def helper_return(m: Mutation, state: State, fx: FixContext) -> Plan:
    ctx = fx.ctx
    helper = m.helper or ""
    func = ctx.functions.get(helper)
    if func is None:
        return None, "the helper is not defined in this file"
    if helper in ctx.exports:
        return None, f"`{helper}` is exported in `__all__`: callers in other files would silently lose the write"
    summary = ctx.summary(helper)
    if summary is None or summary.returns_value:
        return None, f"`{helper}()` already returns a value"
    mutated = [p for p in summary.mutated]
    if len(mutated) != 1:
        return None, f"`{helper}()` writes more than one argument in place"
    param = mutated[0]
    calls = []
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Name) and node.id == helper and not isinstance(node.ctx, ast.Load):
            return None, f"`{helper}` is rebound in this file"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == helper:
            calls.append(node)
    references = sum(1 for n in ast.walk(ctx.tree) if isinstance(n, ast.Name) and n.id == helper)
    if references != len(calls):
        return None, f"`{helper}` is used other than by calling it (passed around or exported)"
    index = summary.params.index(param)
    call_sites = []
    for call in calls:
        arg = call.args[index] if index < len(call.args) else next((k.value for k in call.keywords if k.arg == param), None)
        if not isinstance(arg, ast.Name):
            return None, f"a call of `{helper}()` passes an expression, not a name, for `{param}`"
        call_sites.append(ctx.span(call))
    if "." in helper:
        return None, "methods that mutate their arguments are not rewritten"
    problem = _alias_problem(m, state, fx)
    if problem:
        return None, problem
    description = f"make `{helper}()` return `{param}` and rebind it at its {len(call_sites)} call site(s)"
    return (
        Fix(FixKind.HELPER_RETURN, ctx.span(func), description, FixSafety.NEEDS_VERIFICATION,
            HelperReturnParams(helper=helper, param=param, calls=tuple(call_sites), index=index)),
        None,
    )


# ---------------------------------------------------------------------- `.data` / `.detach()` aliases
def copy_alias(m: Mutation, state: State, fx: FixContext, *, through_data: bool) -> Plan:
    base_names = [n for n in state.names_of(m.target.sids)
                  if n != m.name and state.env[n].alias is Alias.NONE and state.env[n].kind is Kind.TENSOR]
    read_later = [n for n in base_names if fx.reads.read_after(n, m.stmt)]
    if read_later:
        return None, (f"the forward reads `{read_later[0]}` after the write, so the write changes what it computes; "
                      "a copy would change the result")
    producer = m.target.producer
    if isinstance(m.target_node, ast.Attribute) and m.target_node.attr == "data":
        # `y.data.clamp_(...)` directly on the saved tensor: the differentiable op keeps the forward.
        if through_data:
            return _out_of_place_data(m, state, fx)
        return None, "no automatic rewrite for this form"
    if producer is None or producer.op not in (".data", "detach()"):
        return None, "the alias is not made in this function"
    owner = _outside_owner(m, state)
    if owner:
        return None, f"the alias shares storage with {owner}: the write is meant for it, and a copy would drop it"
    alias_text = fx.ctx.text(producer.span)
    return Fix(FixKind.CLONE, producer.span, f"make the alias a real copy: `{alias_text}.clone()`",
               FixSafety.NEEDS_VERIFICATION, CloneParams(mode="expression")), None


def _outside_owner(m: Mutation, state: State) -> str | None:
    """Who outside this function holds the written storage: the caller (an argument), or the module."""
    for _, facts in state.storages(m.target):
        if facts.arg:
            return f"the caller's tensor `{facts.arg}`"
        if facts.param or facts.buffer:
            return f"a {'parameter' if facts.param else 'buffer'} of the module"
    return None


def _out_of_place_data(m: Mutation, state: State, fx: FixContext) -> Plan:
    if m.form is not Form.METHOD or m.name is None:
        return None, "no automatic rewrite for this form"
    info = fx.ctx.table.inplace_method(m.op)
    if info is None or info.out_of_place is None:
        return None, f"no out-of-place form of `{m.op}` is known"
    problem = _argument_problem(m, fx) or _alias_problem(m, state, fx)
    if problem:
        return None, problem
    return (
        Fix(FixKind.OUT_OF_PLACE, m.span, f"rewrite `{m.name}.data.{m.op}(...)` as `{m.name} = {m.name}.{info.out_of_place}(...)`",
            FixSafety.NEEDS_VERIFICATION, OutOfPlaceParams(name=m.name, form="method", method=m.op,
                                                           replacement=info.out_of_place, through_data=True)),
        None,
    )




# ---------------------------------------------------------------------- rows of an iterated tensor
def row_views(m: Mutation, state: State, fx: FixContext) -> Plan:
    """A write to an element of ``for row in t``: iterate ``t[i]`` (ordinary views) instead of ``unbind``."""
    producer = m.target.producer
    name = producer.iterated if producer is not None else None
    if producer is None or name is None:
        return None, "the iterated tensor is not a plain name"
    facts = [state.heap[s] for s in m.target.sids if s in state.heap]
    if any(f.leaf is not Tri.NO or f.param for f in facts):
        return None, f"`{name}` is (a view of) a leaf that requires grad: writing its rows raises too"
    description = f"iterate the rows of `{name}` by indexing (`{name}[i]`) instead of `unbind` (line {producer.span.line})"
    return (Fix(FixKind.ROW_VIEWS, producer.span, description, FixSafety.NEEDS_VERIFICATION, RowViewsParams(name=name)),
            None)
