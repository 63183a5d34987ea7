"""GS602 and GS603, the analysis of ``gradsafe.rules.silent_aliasing``: silent bugs through shared memory.

GS602 (a value read after an in-place op clobbered it) is decided on the function's syntax after
the write, in one narrow shape (the rule's docs define it): a *residual sum* whose one operand
names the tensor as it was before the write and whose other operand is computed from the write's
result.  ``clobbered_read`` finds that sum; ``ResidualRead`` is what the message and the fix use.

GS603 (a write the version counter cannot see) is a write through a NumPy view of a tensor
(``Alias.NUMPY``, made by the interpreter for ``t.numpy()`` and ``np.asarray(t)``) while an op's
save of that tensor is pending.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from collections.abc import Callable, Iterator

from gradsafe.analysis.checks.base import (
    NO_HAZARD,
    RuleAnalysis,
    Verdict,
    Write,
    first_save,
    saved_role,
    saved_where,
    what,
    written_name,
)
from gradsafe.analysis.mutations import Form, Mutation
from gradsafe.analysis.remedies import Plan
from gradsafe.transforms.params import InplaceFlagParams
from gradsafe.analysis.values import Alias, Tri
from gradsafe.findings import Applicability, Fix, FixKind, FixSafety, Related, Span
from gradsafe.rules.silent_aliasing import CLOBBERED_READ, VERSION_COUNTER_BYPASS

# In-place forms spelled as a function that produces a value: when the result goes to another
# name, the author treats the call as functional, and the written name as unchanged.
_FUNCTIONAL_FORMS = (Form.INPLACE_KWARG, Form.MODULE, Form.SEQUENTIAL, Form.HELPER)
_ADD_CALLS = frozenset({"torch.add", "add"})


@dataclass(frozen=True, slots=True)
class ResidualRead:
    """The sum that reads the clobbered tensor: the operand naming the old value, and the sum."""

    name: str  # the name read as if it still held the value before the write
    read: ast.Name  # that read
    combination: ast.AST  # the `a + b` / `a += b` / `torch.add(a, b)`


# ---------------------------------------------------------------------- GS602
def clobbered_read(w: Write) -> Verdict | None:
    """GS602: the write's old value is read afterwards as the skip operand of a residual sum."""
    if w.m.through_data or w.m.target.alias is not Alias.NONE:
        return None
    if find_residual_read(w) is None:
        return None
    return Verdict(CLOBBERED_READ, premise=Tri.YES)


def find_residual_read(w: Write) -> ResidualRead | None:
    m = w.m
    func = w.scope.node
    if not m.target.sids or not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    rebound = _stored_names(m.stmt)
    old_names = {n for n in w.state.names_of(m.target.sids)
                 if n != m.name and "." not in n and w.state.env[n].sids == m.target.sids
                 and w.state.env[n].alias is Alias.NONE}
    if m.name and "." not in m.name and _functional(m):
        old_names.add(m.name)
    old_names -= rebound
    if not old_names:
        return None
    # Names holding a value computed from the write's result.
    derived = {n for n in rebound if n not in old_names}
    if m.name and m.name not in old_names:
        derived.add(m.name)
    found = _in_statement(m.stmt, m.node, old_names, derived)
    if found is not None:
        return found
    for stmt in _statements_after(func, m.stmt):
        found = _combination(stmt, old_names, derived)
        if found is not None:
            return found
        stored = _stored_names(stmt)
        reads_derived = _reads_any(stmt, derived)
        old_names -= stored
        if reads_derived:
            derived |= stored
        else:
            derived -= stored
        if not old_names or not derived:
            return None
    return None


def _functional(m: Mutation) -> bool:
    """The in-place op is written like a function call whose result the author uses."""
    if m.form not in _FUNCTIONAL_FORMS:
        return False
    return not (isinstance(m.stmt, ast.Expr) and m.stmt.value is m.node)


def _stored_names(stmt: ast.stmt) -> set[str]:
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    names: set[str] = set()
    for target in targets:
        names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names


def _statements_after(func: ast.FunctionDef | ast.AsyncFunctionDef, stmt: ast.stmt) -> list[ast.stmt]:
    """The simple statements of ``func`` after ``stmt`` ends, in source order (nested defs left out)."""
    end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
    found: list[ast.stmt] = []

    def visit(body: list[ast.stmt]) -> None:
        for s in body:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            blocks = [getattr(s, f, None) for f in ("body", "orelse", "finalbody")]
            blocks += [h.body for h in getattr(s, "handlers", [])]
            if (s.lineno, s.col_offset) >= end:
                found.append(s)
            for block in blocks:
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    visit(block)

    visit(func.body)
    return found


def _own_nodes(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The nodes of ``stmt`` itself, not of the statements nested in it."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.stmt):
                stack.append(child)


def _reads_any(stmt: ast.stmt, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names for n in _own_nodes(stmt))


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _operands(node: ast.AST) -> tuple[ast.expr, ast.expr] | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return node.left, node.right
    if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "add" and isinstance(func.value, ast.Name) \
                and func.value.id == "torch":
            return node.args[0], node.args[1]
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _ADD_CALLS and not (
                isinstance(func.value, ast.Name) and func.value.id == "torch"):
            return func.value, node.args[0]
    return None


def _combination(stmt: ast.stmt, old: set[str], derived: set[str]) -> ResidualRead | None:
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and isinstance(stmt.target, ast.Name):
        target, value = stmt.target, stmt.value
        if target.id in derived and isinstance(value, ast.Name) and value.id in old:
            return ResidualRead(value.id, value, stmt)  # `out += identity`
        if target.id in old and _mentions(value, derived) and not _mentions(value, {target.id}):
            return ResidualRead(target.id, target, stmt)  # `x += h`
    for node in _own_nodes(stmt):
        operands = _operands(node)
        if operands is not None:
            found = _pair(operands, node, old, lambda e: _mentions(e, derived))
            if found is not None:
                return found
    return None


def _in_statement(stmt: ast.stmt, write: ast.AST, old: set[str], derived: set[str]) -> ResidualRead | None:
    """`x + self.fc(F.relu(x, inplace=True))`: the sum runs after the write, in the write's statement."""
    for node in _own_nodes(stmt):
        operands = _operands(node)
        if operands is not None:
            found = _pair(operands, node, old, lambda e: any(n is write for n in ast.walk(e)), in_write=True)
            if found is not None:
                return found
    return None


def _pair(operands: tuple[ast.expr, ast.expr], node: ast.AST, old: set[str], computed: Callable[[ast.expr], bool],
          *, in_write: bool = False) -> ResidualRead | None:
    """``mine`` names the old value, ``other`` is computed from the write (and, after the write's
    statement, does not read ``mine`` itself: `x + f(x)` reads one value twice)."""
    for mine, other in (operands, operands[::-1]):
        if isinstance(mine, ast.Name) and mine.id in old and computed(other) \
                and (in_write or not _mentions(other, {mine.id})):
            return ResidualRead(mine.id, mine, node)
    return None



def _clobbered_message(w: Write, v: Verdict, related: list[Related]) -> str:
    found = find_residual_read(w)
    assert found is not None
    span = w.fix.ctx.span(found.read)
    related.append(Related(span, f"`{found.name}` is read here as the value before the write"))
    return (f"{what(w.m)} overwrites {written_name(w.m)} in place, and line {span.line} adds `{found.name}` "
            "back as if it still held the value before the write; the sum silently uses the overwritten value")


def _clobbered_remedy(w: Write, v: Verdict) -> Plan:
    """Turn the in-place flag off where the write is spelled with one (an unsafe fix: the outputs
    change, to what the residual sum evidently meant); report only for other forms."""
    m = w.m
    if m.form in (Form.MODULE, Form.SEQUENTIAL):
        if m.module is None or m.module.site is None:
            return None, "the in-place module is built where gradsafe cannot see it"
        if not m.module.certain:
            return None, "the module is chosen at run time from several alternatives"
        return _unsafe_flag(m.module.site, f"construct `{m.module.display}` with `inplace=False`", "construction"), None
    if m.form is Form.INPLACE_KWARG:
        return _unsafe_flag(m.span, "drop `inplace=True`", "call"), None
    return None, "clone the tensor before the in-place op (or make it out of place) where the old value is meant"


def _unsafe_flag(span: Span, description: str, mode: str) -> Fix:
    return Fix(FixKind.INPLACE_FLAG, span, description, FixSafety.NEEDS_VERIFICATION,
               InplaceFlagParams(mode=mode), Applicability.UNSAFE)


# ---------------------------------------------------------------------- GS603
def numpy_view_written(w: Write) -> Verdict | None:
    """GS603: a write through a NumPy view; a hazard only while a save of the tensor is pending."""
    if w.m.target.alias is not Alias.NUMPY:
        return None
    if w.saves and w.state.backward is not Tri.YES:
        return Verdict(VERSION_COUNTER_BYPASS, saves=w.saves, release=True)
    return NO_HAZARD


def _bypass_message(w: Write, v: Verdict, related: list[Related]) -> str:
    m, save = w.m, first_save(v.saves)
    assert save is not None
    bases = [n for n in w.state.names_of(m.target.sids) if w.state.env[n].alias is Alias.NONE]
    into = f"`{bases[0]}`" if bases else written_name(m)
    if m.form is Form.HELPER and m.helper_span is not None:
        related.append(Related(m.helper_span, f"`{m.helper}()` writes a NumPy view of its argument here"))
        how = f"writes {into} through a NumPy view (line {m.helper_span.line} in `{m.helper}()`)"
    else:
        how = f"writes through a NumPy view of {into}"
    return (f"{what(m)} {how}, which {saved_where(save)} saved for backward ({saved_role(save)}); autograd's "
            "version counter cannot see the write, so gradients will be silently wrong")


def _bypass_unseen_save(w: Write) -> str:
    return (f"{what(w.m)} writes through memory shared with a tensor saved for backward; autograd's version "
            "counter cannot see it, so gradients will be silently wrong")


def _bypass_remedy(w: Write, v: Verdict) -> Plan:
    return None, "copy the array (`.numpy().copy()`) or do the arithmetic in torch; which one the code means is not local"


ANALYSES = (
    RuleAnalysis(CLOBBERED_READ, _clobbered_message, _clobbered_remedy),
    RuleAnalysis(VERSION_COUNTER_BYPASS, _bypass_message, _bypass_remedy, unseen_save_message=_bypass_unseen_save),
)
