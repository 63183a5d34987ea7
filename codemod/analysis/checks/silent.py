"""GS6xx, the analysis of ``gradsafe.rules.silent``: silent bugs, code that runs and computes something else.

GS601 is about a statement, not a write: an expression statement whose call returns a new tensor
and changes nothing (the calls ``gradsafe.analysis.pure_calls`` derives from the op table), on a
receiver the analysis knows is a tensor, in code that does not run the op for its own sake.  A
call that passes ``out=`` or ``inplace=`` writes something, so it is never reported.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from gradsafe.analysis.checks.base import RuleAnalysis, Statement, Verdict, short
from gradsafe.analysis.interpreter.scope import tensor_params
from gradsafe.analysis.pure_calls import pure_calls
from gradsafe.analysis.remedies import Plan
from gradsafe.analysis.source_text import unparse
from gradsafe.analysis.values import Kind
from gradsafe.findings import Applicability, Fix, FixKind, FixSafety, Related
from gradsafe.rules.silent import DISCARDED_RESULT
from gradsafe.transforms.params import AssignBackParams

_WRITING_KEYWORDS = frozenset({"out", "inplace"})


def discarded_result(s: Statement) -> Verdict | None:
    """GS601: ``x.clamp(0, 1)`` as a statement, ``x`` a tensor: the clamped tensor is thrown away."""
    if not s.api or s.receiver.kind is not Kind.TENSOR or not _known_tensor(s) or _only_named_a_tensor(s):
        return None
    if _called_for_its_own_sake(s):
        return None
    if any(k.arg in _WRITING_KEYWORDS for k in s.call.keywords):
        return None
    info = s.fix.ctx.table.lookup(s.api)
    if info is not None and info.inplace_position is not None and len(s.call.args) > info.inplace_position:
        return None  # `F.relu(x, True)`: the flag passed by position
    return Verdict(DISCARDED_RESULT)


def _known_tensor(s: Statement) -> bool:
    """The receiver's tensors come from somewhere the analysis knows: not from an op nothing knows
    (``torch._logging.getArtifactLogger(...)``), nor from a factory outside torch (``np.empty``)."""
    if not s.receiver.sids:
        return False
    ctx = s.fix.ctx
    for sid, facts in s.state.storages(s.receiver):
        kind = ctx.site_kind(sid)
        if kind == "opaque":
            return False
        if kind == "alloc" and facts.fresh and not facts.label.startswith(("`torch.", "`nn.")):
            return False  # a factory by its name alone: `np.empty(...)`, `zeros(...)` of another library
    return True


# Context managers that set how the code runs, not what it observes: a statement in their block is
# ordinary code.  Any other `with` (a profiler, a timer, `pytest.raises`, `assertRaises`) or a `try`
# body may run the op for its own sake: to time it, profile it or see it raise.
_MODE_MANAGERS = frozenset(
    {"no_grad", "enable_grad", "inference_mode", "set_grad_enabled", "autocast", "device", "default_device"}
)
# Functions whose calls are there to be run: tests (does it raise, does it run?), benchmarks, warm-ups.
_EXERCISING = ("test", "bench", "warmup", "warm_up", "profile", "time_", "timeit")


def _called_for_its_own_sake(s: Statement) -> bool:
    """The op is run for its side effects on the run itself: timed, profiled, or expected to raise."""
    node = s.scope.node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        name = node.name.lower().lstrip("_")
        if name.startswith(_EXERCISING) or "benchmark" in name:
            return True
    line = s.stmt.lineno
    for inner in ast.walk(node):
        if isinstance(inner, (ast.With, ast.AsyncWith)) and _inside(line, inner.body):
            if not all(_mode_manager(item.context_expr) for item in inner.items):
                return True
        elif isinstance(inner, ast.Try) and inner.handlers and _inside(line, inner.body):
            return True
    return False


def _inside(line: int, body: list[ast.stmt]) -> bool:
    return bool(body) and body[0].lineno <= line <= (body[-1].end_lineno or body[-1].lineno)


def _mode_manager(expr: ast.expr) -> bool:
    target = expr.func if isinstance(expr, ast.Call) else expr
    name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""
    return name in _MODE_MANAGERS


def _only_named_a_tensor(s: Statement) -> bool:
    """The receiver is a parameter that only this very call shows to be a tensor.

    The interpreter takes a parameter for a tensor when the body calls a tensor method on it; but
    a method name alone does not show that: lists, strings, arrays, data frames and modules have
    `copy`, `strip`, `clip`, `float`, `to` too (``model.to(device)`` moves the module and returns
    it).  So for a method call on a parameter (outside ``forward``, whose inputs are tensors), the
    evidence must come from the rest of the function, and not from its method calls at all
    (``used.add(name)`` twice, ``count = store.add(key, 0)``, ``model.float()`` are no evidence):
    a ``Tensor`` annotation, or the parameter passed to a torch function.  A torch function
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
    blank: set[int] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Call):
            func = inner.value.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == name:
                blank.update(range(inner.lineno - node.lineno, (inner.end_lineno or inner.lineno) - node.lineno + 1))
    text = "".join("\n" if i in blank else line for i, line in enumerate(lines))
    text = _method_calls(name).sub("(", text)
    return name not in tensor_params(node, [name], s.fix.ctx, text)


@lru_cache(maxsize=256)
def _method_calls(name: str) -> re.Pattern[str]:
    """``name.add(``, ``name.to(``...: a method name is no evidence (sets add, stores add, modules move)."""
    return re.compile(rf"(?<![\w.]){re.escape(name)}\.\w+\s*\(")


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
