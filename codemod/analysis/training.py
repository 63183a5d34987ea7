"""Training loops: an optimizer step between a forward and the backward of that forward (GS103).

``opt.step()`` (and ``scaler.step(opt)``) writes every parameter of the modules the optimizer was
built from in place.  A loss computed *before* the step whose ``backward()`` (or
``torch.autograd.grad``) runs *after* it needs the parameters its forward saved, and autograd
refuses: ``modified by an inplace operation``.  The GAN discriminator step before the generator
loss's backward and the critic step before the actor's backward are the common shapes.

This is a separate, light pass over each function's statements in order (a loop body is read twice,
so a loss carried into the next iteration is seen); it never imports torch.  What it knows:

* the modules each optimizer holds: ``X.parameters()`` / ``X.named_parameters()`` anywhere in the
  constructor's arguments (param groups, ``itertools.chain(g.parameters(), d.parameters())``);
* which modules each name's value was computed through, and at which step count (``detach()``,
  ``item()`` and ``torch.no_grad()`` blocks cut the dependence);
* a single ``nn.Linear``/``nn.Conv*``/``nn.Embedding`` called on inputs that need no grad saves no
  weight (its weight gradient needs only the input), so that call alone is not a hazard.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from gradsafe.findings import (
    Confidence,
    Finding,
    Fix,
    FixKind,
    FixSafety,
    Related,
    Span,
)
from gradsafe.rules.saved_tensors import STEP_BEFORE_BACKWARD
from gradsafe.transforms.params import ReorderParams

_PREFILTER = re.compile(r"\.step\(")
_BACKWARD_TEXT = re.compile(r"\.backward\(|autograd\.grad\(")
_SINGLE_LAYERS = frozenset({"Linear", "Conv1d", "Conv2d", "Conv3d", "Embedding", "Bilinear"})
_SET_UP = 3  # zero_grad(), backward(), step(): one optimizer's update
_CUTS = frozenset({"detach", "item", "tolist", "numpy"})
_OPTIM_ROOTS = ("torch.optim.", "optim.")


@dataclass(frozen=True)
class _Use:
    """A value went through ``module``'s forward on ``line`` when its optimizer had stepped ``gen`` times."""

    line: int
    gen: int
    saves: bool  # the forward saved the module's parameters (its input needed grad, or it is deep)


@dataclass
class _State:
    optimizers: dict[str, tuple[str, ...]]
    shallow: set[str]
    gen: dict[str, int] = field(default_factory=dict)
    steps: dict[str, tuple[int, str]] = field(default_factory=dict)
    deps: dict[str, dict[str, _Use]] = field(default_factory=dict)
    no_grad: int = 0
    where: tuple[list[ast.stmt], int] = ([], 0)  # the statement being read: its block and index

    @property
    def modules(self) -> set[str]:
        return {m for ms in self.optimizers.values() for m in ms}


def judge_training(tree: ast.Module, text: str) -> list[Finding]:
    """GS103 findings of one file."""
    if not _PREFILTER.search(text) or not _BACKWARD_TEXT.search(text):
        return []
    findings: dict[Span, Finding] = {}
    for qualname, body in _scopes(tree):
        optimizers = _optimizers(body)
        if not optimizers:
            continue
        state = _State(optimizers, _shallow_modules(body))
        for finding in _block(body, state, qualname):
            findings.setdefault(finding.span, finding)
    return list(findings.values())


def _scopes(tree: ast.Module) -> list[tuple[str, list[ast.stmt]]]:
    out: list[tuple[str, list[ast.stmt]]] = [("", tree.body)]

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                out.append((name, child.body))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif not isinstance(child, ast.expr):
                visit(child, prefix)

    visit(tree, "")
    return out


def _own_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of ``body`` outside nested functions and classes."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(child)
    return out


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _optimizers(body: list[ast.stmt]) -> dict[str, tuple[str, ...]]:
    """Optimizer name -> the modules whose parameters it was built from."""
    out: dict[str, tuple[str, ...]] = {}
    for node in _own_nodes(body):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.value, ast.Call):
            continue
        name = _dotted(node.targets[0])
        callee = _dotted(node.value.func)
        if name is None or callee is None or not callee.startswith(_OPTIM_ROOTS) or not callee[-1:].isalpha():
            continue
        modules: list[str] = []
        for arg in [*node.value.args, *(k.value for k in node.value.keywords)]:
            for sub in ast.walk(arg):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr in ("parameters", "named_parameters")
                ):
                    module = _dotted(sub.func.value)
                    if module is not None and module not in modules:
                        modules.append(module)
        if modules:
            out[name] = tuple(modules)
    return out


def _shallow_modules(body: list[ast.stmt]) -> set[str]:
    """Names bound to one ``nn.Linear``/``nn.Conv*``/``nn.Embedding`` (``.double()`` and the like allowed)."""
    out: set[str] = set()
    for node in _own_nodes(body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = _dotted(node.targets[0])
            value: ast.expr = node.value
            while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in (
                "double",
                "float",
                "to",
                "cuda",
                "cpu",
            ):
                value = value.func.value
            if name is not None and isinstance(value, ast.Call):
                callee = _dotted(value.func)
                if callee is not None and callee.split(".")[-1] in _SINGLE_LAYERS:
                    out.add(name)
    return out


def _deps(expr: ast.AST, state: _State) -> dict[str, _Use]:
    """The modules ``expr``'s value was computed through (outside ``no_grad``)."""
    if state.no_grad:
        return {}
    if isinstance(expr, (ast.Name, ast.Attribute)):
        name = _dotted(expr)
        if name is not None and name in state.deps:
            return dict(state.deps[name])
        if isinstance(expr, ast.Attribute):
            return _deps(expr.value, state)
        return {}
    if isinstance(expr, (ast.Lambda, ast.Constant)):
        return {}
    out: dict[str, _Use] = {}
    if isinstance(expr, ast.Call):
        if isinstance(expr.func, ast.Attribute) and expr.func.attr in _CUTS:
            return {}
        callee = _dotted(expr.func)
        if callee is not None and callee.endswith(".forward"):
            callee = callee[: -len(".forward")]
        inputs: dict[str, _Use] = {}
        for arg in [*expr.args, *(k.value for k in expr.keywords)]:
            inputs.update(_deps(arg, state))
        if callee is not None and callee in state.modules:
            saves = bool(inputs) or callee not in state.shallow
            inputs[callee] = _Use(expr.lineno, state.gen.get(callee, 0), saves)
        elif isinstance(expr.func, ast.Attribute):
            inputs.update(_deps(expr.func.value, state))
        return inputs
    for child in ast.iter_child_nodes(expr):
        out.update(_deps(child, state))
    return out


def _bind(target: ast.expr, deps: dict[str, _Use], state: _State, *, augment: bool = False) -> None:
    if isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            _bind(element, deps, state, augment=augment)
        return
    if isinstance(target, ast.Starred):
        _bind(target.value, deps, state, augment=augment)
        return
    if isinstance(target, ast.Subscript):
        target, augment = target.value, True
    name = _dotted(target)
    if name is None:
        return
    if augment:
        merged = dict(state.deps.get(name, {}))
        merged.update(deps)
        deps = merged
    state.deps[name] = deps


def _block(body: list[ast.stmt], state: _State, scope: str) -> list[Finding]:
    out: list[Finding] = []
    for i, stmt in enumerate(body):
        state.where = (body, i)
        out.extend(_statement(stmt, state, scope))
    return out


def _statement(stmt: ast.stmt, state: _State, scope: str) -> list[Finding]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    if isinstance(stmt, ast.Assign):
        deps = _deps(stmt.value, state)
        for target in stmt.targets:
            _bind(target, deps, state)
        return _calls(stmt.value, state, scope)
    if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and stmt.value is not None:
        _bind(stmt.target, _deps(stmt.value, state), state, augment=isinstance(stmt, ast.AugAssign))
        return _calls(stmt.value, state, scope)
    if isinstance(stmt, (ast.Expr, ast.Return)) and stmt.value is not None:
        return _calls(stmt.value, state, scope)
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        # Twice: what the first iteration leaves (a loss carried over, a step) meets the second.
        found = _block(stmt.body, state, scope) + _block(stmt.body, state, scope)
        return found + _block(stmt.orelse, state, scope)
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        cut = any(_is_no_grad(item.context_expr) for item in stmt.items)
        state.no_grad += cut
        try:
            return _block(stmt.body, state, scope)
        finally:
            state.no_grad -= cut
    if isinstance(stmt, ast.If):
        return _branch(stmt.body, state, scope) + _branch(stmt.orelse, state, scope)
    if isinstance(stmt, ast.Try):
        found = _block(stmt.body, state, scope)
        for handler in stmt.handlers:
            found += _block(handler.body, state, scope)
        return found + _block(stmt.orelse, state, scope) + _block(stmt.finalbody, state, scope)
    return []


def _branch(body: list[ast.stmt], state: _State, scope: str) -> list[Finding]:
    """A branch of an ``if``; one that ends in ``continue``/``break``/``return``/``raise`` leaves no
    step or binding behind for the statements after the ``if`` (``if warmup: ...; opt.step(); continue``)."""
    saved = (dict(state.gen), dict(state.steps), dict(state.deps))
    found = _block(body, state, scope)
    if body and isinstance(body[-1], (ast.Continue, ast.Break, ast.Return, ast.Raise)):
        state.gen, state.steps, state.deps = saved
    return found


def _is_no_grad(expr: ast.expr) -> bool:
    callee = _dotted(expr.func) if isinstance(expr, ast.Call) else None
    return callee is not None and callee.split(".")[-1] in ("no_grad", "inference_mode")


def _calls(expr: ast.expr, state: _State, scope: str) -> list[Finding]:
    """Steps and backwards in one expression statement's calls."""
    out: list[Finding] = []
    for node in ast.walk(expr):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = _dotted(node.func.value)
        if node.func.attr == "step":
            optimizer = owner if owner in state.optimizers else None
            if optimizer is None and node.args and _dotted(node.args[0]) in state.optimizers:
                optimizer = _dotted(node.args[0])  # scaler.step(opt)
            if optimizer is not None:
                for module in state.optimizers[optimizer]:
                    state.gen[module] = state.gen.get(module, 0) + 1
                    state.steps[module] = (node.lineno, optimizer)
        elif node.func.attr == "backward":
            finding = _stale(node.func.value, node, state, scope)
            if finding is not None:
                out.append(finding)
        elif node.func.attr == "grad" and owner in ("torch.autograd", "autograd") and node.args:
            finding = _stale(node.args[0], node, state, scope)
            if finding is not None:
                out.append(finding)
    return out


def _stale(loss: ast.expr, call: ast.Call, state: _State, scope: str) -> Finding | None:
    """A finding when ``loss``'s graph went through a module whose optimizer stepped since."""
    if state.no_grad:
        return None
    for module, use in _deps(loss, state).items():
        if not use.saves or state.gen.get(module, 0) <= use.gen:
            continue
        step_line, optimizer = state.steps[module]
        name = _dotted(loss) or "the loss"
        backward = ast.unparse(call.func) + "()"
        message = (
            f"`{backward}` runs after `{optimizer}.step()` (line {step_line}) overwrote in place the "
            f"parameters of `{module}` that the forward on line {use.line} saved for `{name}`; "
            "backward raises 'modified by an inplace operation'"
        )
        span = Span(call.lineno, call.col_offset, call.end_lineno or call.lineno, call.end_col_offset or 0)
        fix = _reorder(state, optimizer)
        return Finding(
            code=STEP_BEFORE_BACKWARD.code,
            message=message,
            span=span,
            confidence=Confidence.CERTAIN,
            related=(
                Related(Span(use.line, 0, use.line, 0), f"the forward through `{module}` saves its parameters here"),
                Related(Span(step_line, 0, step_line, 0), f"`{optimizer}.step()` overwrites them in place here"),
            ),
            fix=fix,
            unfixable_reason=None
            if fix is not None
            else (
                f"call `{backward}` before `{optimizer}.step()`, or compute `{name}` again after the step "
                f"(a discriminator step trains on `fake.detach()`, and the generator's loss runs the "
                f"stepped `{module}` anew)"
            ),
            scope=scope,
        )
    return None


def _update(stmts: list[ast.stmt]) -> tuple[str, ast.expr] | None:
    """``(optimizer, loss)`` when ``stmts`` are exactly ``opt.zero_grad()``, ``loss.backward()``, ``opt.step()``."""
    calls = [s.value if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) else None for s in stmts]
    if len(calls) != _SET_UP or any(c is None or not isinstance(c.func, ast.Attribute) for c in calls):
        return None
    zero, backward, step = (c.func for c in calls if c is not None and isinstance(c.func, ast.Attribute))
    optimizer = _dotted(zero.value)
    if (zero.attr, backward.attr, step.attr) != ("zero_grad", "backward", "step") or optimizer is None:
        return None
    if _dotted(step.value) != optimizer or calls[1] is None or calls[1].args or calls[1].keywords:
        return None
    return optimizer, backward.value


def _reorder(state: _State, stepped: str) -> Fix | None:
    """Swap the stepped optimizer's update with the one whose backward fails, when that keeps the meaning.

    The shape: ``a.zero_grad(); loss_a.backward(); a.step(); b.zero_grad(); loss_b.backward(); b.step()``
    with the failing ``loss_b.backward()`` in the middle of the second run.  Run ``b``'s update first:
    ``loss_b``'s backward then reads the parameters its forward saved; ``loss_a``'s graph must not
    reach ``b``'s modules (``b.step()`` would overwrite them, and its gradients would land in ``b``'s
    ``.grad`` after ``b.zero_grad()``), the two optimizers must hold different modules, and the two
    losses must come from different forward calls (a graph freed by one backward cannot serve the other).
    """
    body, i = state.where
    if i < _SET_UP + 1 or i + 1 >= len(body):
        return None
    first, second = _update(body[i - _SET_UP - 1 : i - 1]), _update(body[i - 1 : i + 2])
    if first is None or second is None or first[0] != stepped or second[0] == stepped:
        return None
    a_modules, b_modules = set(state.optimizers[stepped]), set(state.optimizers.get(second[0], ()))
    if not b_modules or a_modules & b_modules:
        return None
    loss_a, loss_b = _deps(first[1], state), _deps(second[1], state)
    if set(loss_a) & b_modules or {u.line for u in loss_a.values()} & {u.line for u in loss_b.values()}:
        return None
    start, end = body[i - _SET_UP - 1], body[i + 1]
    target = Span(start.lineno, start.col_offset, end.end_lineno or end.lineno, end.end_col_offset or 0)
    return Fix(
        FixKind.REORDER,
        target,
        f"run `{second[0]}`'s update before `{stepped}`'s",
        FixSafety.NEEDS_VERIFICATION,
        ReorderParams(split=_SET_UP),
    )
