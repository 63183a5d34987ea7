"""GS6xx, the analysis of ``gradsafe.rules.silent``: silent bugs, code that runs and computes something else.

GS601 is about a statement, not a write: an expression statement whose call returns a new tensor
and changes nothing, on a receiver the interpreter knows is a tensor.  Which calls those are comes
from the op table (``gradsafe.analysis.optable``), which records the out-of-place ops and, for
each in-place method, its out-of-place twin:

* every ``Tensor.*`` method and ``torch.*`` / ``torch.nn.functional.*`` function of ``ops``
  (they are recorded because they compute a result autograd may save; none of them mutates) but
  those whose result is a Python value (``item``, ``size``, ``tolist``: reading one as a statement
  is a device synchronisation, not a forgotten assignment);
* the out-of-place twin of every in-place method and function the table knows (``index_fill`` of
  ``index_fill_``), the twins of ``requires_grad_``-like methods that do not write data excepted;
* the tensor members ``scripts/optable_members.py`` measured to give back the tensor itself or a
  new one (``float``, ``cuda``, ``contiguous``, ``to``, ``argmax``...).

A call that passes ``out=`` or ``inplace=`` writes something, so it is never reported.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

from gradsafe.analysis.checks.base import RuleAnalysis, Statement, Verdict, short
from gradsafe.analysis.interpreter.scope import tensor_params
from gradsafe.analysis.optable import OpTable, load
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.source_text import unparse
from gradsafe.analysis.values import Kind
from gradsafe.findings import Applicability, Fix, FixKind, FixSafety, Related
from gradsafe.rules.silent import DISCARDED_RESULT
from gradsafe.transforms.params import AssignBackParams

# What `optable_members.py` says a member gives back: a tensor (itself, a copy, one without grad).
_TENSOR_RESULTS = frozenset({"self", "no_grad", "zero_grad"})
_WRITING_KEYWORDS = frozenset({"out", "inplace"})


@dataclass(frozen=True)
class PureCalls:
    """The tensor methods (``clamp``) and torch functions (``torch.clamp``) that return a new tensor and mutate nothing."""

    methods: frozenset[str]
    functions: frozenset[str]
    twins: dict[str, str]  # out-of-place name -> its in-place twin ("clamp" -> "clamp_"), for the message


@lru_cache(maxsize=1)
def pure_calls(table: OpTable | None = None) -> PureCalls:
    table = table or load()
    value_members = {name for name, result in table.tensor_methods.items() if result not in _TENSOR_RESULTS}
    methods: set[str] = set()
    functions: set[str] = set()
    twins: dict[str, str] = {}
    for name, info in table.ops.items():
        short_name = name.rsplit(".", 1)[1]
        if short_name.endswith("_") or short_name.startswith("_"):
            continue
        if info.kind == "method" and short_name not in value_members:
            methods.add(short_name)
        elif info.kind == "function":
            functions.add(name)
        if info.inplace_variant:
            twins[short_name] = info.inplace_variant
    for inplace in table.inplace_methods.values():
        if inplace.out_of_place and inplace.mutates_data and not inplace.out_of_place.startswith("_"):
            methods.add(inplace.out_of_place)
            twins.setdefault(inplace.out_of_place, inplace.name)
    for inplace_name, out_of_place in table.inplace_functions.items():
        if not out_of_place.rsplit(".", 1)[1].startswith("_"):
            functions.add(out_of_place)
            twins.setdefault(out_of_place.rsplit(".", 1)[1], inplace_name.rsplit(".", 1)[1])
    methods |= {name for name, result in table.tensor_methods.items() if result in _TENSOR_RESULTS and not name.endswith("_")}
    return PureCalls(frozenset(methods), frozenset(functions), twins)


def discarded_api(call: ast.Call, qualname: str | None) -> tuple[str, ast.expr] | None:
    """The op-table name of a pure call and the expression it works on, or None.

    ``qualname`` is what the callee resolves to through the file's imports (``torch.clamp``), None
    for a method call.  Only receivers that can be evaluated again without effect (a name, an
    attribute of one) are returned: the interpreter reads them before it interprets the call.
    """
    pure = pure_calls()
    func = call.func
    if qualname is not None:
        if qualname not in pure.functions:
            return None
        receiver = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "input"), None)
    elif isinstance(func, ast.Attribute) and func.attr in pure.methods:
        qualname, receiver = f"Tensor.{func.attr}", func.value
    else:
        return None
    if receiver is None or not _plain_reference(receiver):
        return None
    return qualname, receiver


def _plain_reference(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def discarded_result(s: Statement) -> Verdict | None:
    """GS601: ``x.clamp(0, 1)`` as a statement, ``x`` a tensor: the clamped tensor is thrown away."""
    if not s.api or s.receiver.kind is not Kind.TENSOR or _only_named_a_tensor(s):
        return None
    if any(k.arg in _WRITING_KEYWORDS for k in s.call.keywords):
        return None
    info = s.fix.ctx.table.lookup(s.api)
    if info is not None and info.inplace_position is not None and len(s.call.args) > info.inplace_position:
        return None  # `F.relu(x, True)`: the flag passed by position
    return Verdict(DISCARDED_RESULT)


def _only_named_a_tensor(s: Statement) -> bool:
    """The receiver is a parameter that only this very call shows to be a tensor.

    The interpreter takes a parameter for a tensor when the body calls a tensor method on it; but
    a method name alone does not show that: lists, strings, arrays, data frames and modules have
    `copy`, `strip`, `clip`, `float`, `to` too (``model.to(device)`` moves the module and returns
    it).  So for a method call on a parameter (outside ``forward``, whose inputs are tensors), the
    evidence must come from the rest of the function, and calls of the methods modules have too
    (``model.float()``, ``model.cuda()``) are no evidence either.  A torch function
    (``torch.clamp(x, 0)``) shows it by itself.
    """
    name = s.name
    node = s.scope.node
    if s.api.startswith("torch.") or name is None or name not in s.scope.params or s.scope.is_forward:
        return False
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    facts = s.state.storages(s.receiver)
    if not facts or not all(f.arg == name for _, f in facts):
        return False  # rebound to a value the function computed
    lines = s.fix.ctx.source.lines[node.lineno - 1 : node.end_lineno]
    first, last = s.stmt.lineno - node.lineno, (s.stmt.end_lineno or s.stmt.lineno) - node.lineno
    text = "".join("\n" if first <= i <= last else line for i, line in enumerate(lines))
    text = _module_method_calls(tuple(s.fix.ctx.table.module_methods), name).sub("(", text)
    return name not in tensor_params(node, [name], s.fix.ctx, text)


@lru_cache(maxsize=256)
def _module_method_calls(methods: tuple[str, ...], name: str) -> re.Pattern[str]:
    """``name.to(``, ``name.float(``...: calls that a module answers as well as a tensor."""
    return re.compile(rf"(?<![\w.]){re.escape(name)}\.(?:{'|'.join(map(re.escape, methods))})\s*\(")


def _op_name(s: Statement) -> str:
    return s.api.rsplit(".", 1)[1]


def _message(s: Statement, v: Verdict, related: list[Related]) -> str:
    call = short(s.call)
    receiver = f"`{s.name}`" if s.name else f"`{short(s.receiver_node)}`"
    twin = pure_calls().twins.get(_op_name(s))
    instead = f"assign it back, or call `{twin}` if an in-place update was meant" if twin else "assign it back"
    return f"the result of `{call}` is discarded: it returns a new tensor and {receiver} is left unchanged ({instead})"


# Attributes whose assignment reaches every reader of the tensor: `t.data = v` swaps the data of
# the tensor object itself, and `p.grad = g` is the slot the optimizer reads.
_SLOTS = frozenset({"data", "grad"})


def _remedy(s: Statement, v: Verdict) -> Plan:
    """``x = x.clamp(0, 1)``: later readers of ``x`` see the new value, which is what the author meant."""
    node = s.receiver_node
    if isinstance(node, ast.Attribute) and node.attr in _SLOTS:
        # `p.grad.data = p.grad.data.clamp(-1, 1)`: the tensor every alias of `p.grad` holds changes.
        return _assign_back(s, unparse(node)), None
    name = s.name
    if name is None:
        return None, (
            "the receiver is an attribute: assigning back would rebind it for this object only (and a "
            "parameter cannot be assigned a plain tensor); assign the result where it is read"
        )
    if not _bound_locally(name, s):
        return None, f"`{name}` is not a local of this function: assigning to it would make it one"
    others = [
        other
        for other in s.state.names_of(s.receiver.sids)
        if other != name and s.state.env[other].kind in (Kind.TENSOR, Kind.UNKNOWN) and _read_after(other, s)
    ]
    if others:
        shown = ", ".join(f"`{n}`" for n in others[:3])
        return None, f"{shown} also refer{'s' if len(others) == 1 else ''} to the tensor and would not see a rebinding"
    if s.receiver.sids & s.fix.escaped:
        return None, "the tensor is also stored elsewhere (an attribute, a container), which a rebinding would not reach"
    if not _read_after(name, s):
        return None, f"`{name}` is not read afterwards, so assigning back changes nothing; was the caller's tensor meant?"
    return _assign_back(s, name), None


def _assign_back(s: Statement, target: str) -> Fix:
    return Fix(
        FixKind.ASSIGN_BACK,
        s.fix.ctx.span(s.call),
        f"assign the result back: `{target} = {unparse(s.call)}`",
        FixSafety.NEEDS_VERIFICATION,
        AssignBackParams(name=target),
        Applicability.UNSAFE,
    )


def _read_after(name: str, s: Statement) -> bool:
    if name.startswith("self."):
        return True
    if s.scope.qualname == "<module>":
        return True  # a module's names are read by whoever imports it
    return s.fix.reads.read_after(name, s.stmt)


def _bound_locally(name: str, s: Statement) -> bool:
    """``name`` is a parameter or assigned in the scope (and not declared ``global``/``nonlocal``)."""
    node = s.scope.node
    if isinstance(node, ast.Module):
        return True
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    arguments = node.args
    params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
    if any(p is not None and p.arg == name for p in params):
        return True
    for inner in ast.walk(node):
        if isinstance(inner, (ast.Global, ast.Nonlocal)) and name in inner.names:
            return False
        if isinstance(inner, ast.Name) and inner.id == name and isinstance(inner.ctx, ast.Store):
            return True
    return False


ANALYSES = (RuleAnalysis(DISCARDED_RESULT, _message, _remedy),)
