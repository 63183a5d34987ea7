"""Clone before mutate: give an in-place write a private copy to work on.

Where the written tensor is still needed as it was (autograd saved it, it is a leaf or a view of
one, or it is an alias of a saved tensor made for logging), the write itself is fine as long as it
hits a copy.  The judge picks the place (``gradsafe.analysis.remedies``); this pass only writes it.

``FixKind.CLONE`` parameters (``Params``, ``gradsafe.transforms.params.CloneParams``):

* ``mode="statement"``, ``name``: insert ``<name> = <name>.clone()`` as a statement immediately
  before the statement at ``fix.target`` (a simple statement or a whole loop the clone was hoisted
  above).  Comments directly above that statement stay with it; blank lines and comments set off
  by a blank line go above the clone.  A target inside a one-line body (``if c: y[0] = 1``) turns
  that body into an indented block; a target that follows other statements on its line gets the
  clone on the same line (``a = f(x); y = y.clone(); y[0] = 1``).
* ``mode="expression"``: ``fix.target`` is an expression (``attn.detach()``, ``probs.data``) that
  becomes ``<expr>.clone()``.

Several fixes asking for the same clone at the same place insert it once.  A clone that is already
there (the statements just before the target include ``<name> = <name>.clone()``, or the expression
is already the receiver of ``.clone()``) is declined rather than made again: a plan that is still
asked for after its own clone would otherwise add one more on every run.
"""

from __future__ import annotations

import keyword
from collections import defaultdict
from collections.abc import Sequence

import libcst as cst

from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import CloneParams as Params

# What holds statements a clone can go before (an `elif` is an `If` held by another `If`).
_STATEMENT_CONTAINERS = (cst.Module, cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite)
# Expressions that take a trailing `.clone()` without parentheses.
_TRAILER_SAFE = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


class ClonePass:
    kind = FixKind.CLONE

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        index = NodeIndex.of(module)
        # Statement (small or compound) -> names to clone just before it, in order, without repeats.
        before: dict[cst.CSTNode, list[str]] = defaultdict(list)
        wrap: set[cst.BaseExpression] = set()
        result = PassResult(module)
        for fix in fixes:
            reason = _plan(index, fix, before, wrap)
            if reason is None:
                result.applied.append(fix)
            else:
                result.declined.append((fix, reason))
        if result.applied:
            result.module = index.module.visit(_InsertClones(before, wrap))
        return result


def _plan(index: NodeIndex, fix: Fix, before: dict[cst.CSTNode, list[str]], wrap: set[cst.BaseExpression]) -> str | None:
    """Record the edit ``fix`` asks for, or say why it cannot be made."""
    params = Params.of(fix)
    mode = params.mode
    if mode == "expression":
        expr = index.find(fix.target, cst.BaseExpression)
        if expr is None:
            return "no expression at the target span"
        if _is_cloned(index, expr):
            return "the expression is already cloned"
        wrap.add(expr)
        return None
    if mode != "statement":
        return f"unknown clone mode {mode!r}"
    name = params.name
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return f"{name!r} is not a plain local name"
    statement = index.find(fix.target, (cst.BaseSmallStatement, cst.BaseCompoundStatement))
    if statement is None:
        return "no statement at the target span"
    if not isinstance(index.parent(statement), _STATEMENT_CONTAINERS):
        return "the target is an `elif` branch, not a statement of a block"
    if name in _cloned_just_before(index, statement):
        return f"`{name}` is already cloned just before this statement"
    if name not in before[statement]:
        before[statement].append(name)
    return None


def _is_cloned(index: NodeIndex, expr: cst.BaseExpression) -> bool:
    """``expr`` is the receiver of a ``.clone()`` call."""
    method = index.parent(expr)
    return isinstance(method, cst.Attribute) and method.attr.value == "clone" and isinstance(index.parent(method), cst.Call)


def _cloned_just_before(index: NodeIndex, statement: cst.CSTNode) -> set[str]:
    """Names cloned by the ``n = n.clone()`` statements that run immediately before ``statement``."""
    parent = index.parent(statement)
    if isinstance(parent, cst.SimpleStatementLine) and parent.body[0] is statement:
        statement, parent = parent, index.parent(parent)
    assert isinstance(parent, _STATEMENT_CONTAINERS)
    preceding: list[cst.CSTNode] = []
    for sibling in parent.body:
        if sibling is statement:
            break
        preceding += sibling.body if isinstance(sibling, cst.SimpleStatementLine) else [sibling]
    names: set[str] = set()
    for previous in reversed(preceding):
        name = _cloned_name(previous)
        if name is None:
            break
        names.add(name)
    return names


def _cloned_name(statement: cst.CSTNode) -> str | None:
    """``n`` for a statement ``n = n.clone()``, else None."""
    if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1):
        return None
    target, value = statement.targets[0].target, statement.value
    if not (isinstance(target, cst.Name) and isinstance(value, cst.Call) and not value.args):
        return None
    method = value.func
    if isinstance(method, cst.Attribute) and method.attr.value == "clone" and method.value.deep_equals(target):
        return target.value
    return None


def _clone_statement(name: str) -> cst.Assign:
    return cst.Assign(
        targets=[cst.AssignTarget(cst.Name(name))],
        value=cst.Call(cst.Attribute(cst.Name(name), cst.Name("clone"))),
    )


def _split_leading_lines(lines: Sequence[cst.EmptyLine]) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """(lines for a statement inserted above, lines that stay with the statement).

    The comment lines directly above a statement describe it and stay with it; blank lines, and
    anything above the last blank line, separate it from what came before and move above the new
    statement.
    """
    lines = list(lines)
    attached = len(lines)
    while attached > 0 and lines[attached - 1].comment is not None:
        attached -= 1
    return lines[:attached], lines[attached:]


def suite_lines(suite: cst.SimpleStatementSuite) -> list[cst.SimpleStatementLine]:
    """The statements of a one-line body (``if c: a; b  # note``), one per line.

    Needed wherever a statement must be inserted into, or wrapped inside, such a body.  A trailing
    comment stays after the last statement.
    """
    body = [statement.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for statement in suite.body]
    lines = [cst.SimpleStatementLine(body=[statement]) for statement in body]
    lines[-1] = lines[-1].with_changes(trailing_whitespace=suite.trailing_whitespace)
    return lines


class _InsertClones(cst.CSTTransformer):
    def __init__(self, before: dict[cst.CSTNode, list[str]], wrap: set[cst.BaseExpression]) -> None:
        super().__init__()
        self.before = before
        self.wrap = wrap

    def on_leave(  # type: ignore[override]  # libcst types it with one node type for both
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        updated = super().on_leave(original_node, updated_node)
        if original_node in self.wrap:
            assert isinstance(updated, cst.BaseExpression)
            if not isinstance(updated, _TRAILER_SAFE) and not updated.lpar:
                updated = updated.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return cst.Call(cst.Attribute(updated, cst.Name("clone")))
        if isinstance(original_node, cst.BaseCompoundStatement) and original_node in self.before:
            assert isinstance(updated, cst.BaseCompoundStatement)
            return cst.FlattenSentinel(self._above(self.before[original_node], updated))
        return updated

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.BaseStatement]:
        body: list[cst.BaseSmallStatement] = []
        for original, statement in zip(original_node.body, updated_node.body):
            if body:  # after another statement on the line: the clone joins the line
                separator = body[-1].semicolon
                body += [_clone_statement(n).with_changes(semicolon=separator) for n in self.before.get(original, ())]
            body.append(statement)
        line = updated_node.with_changes(body=body)
        names = self.before.get(original_node.body[0])
        return cst.FlattenSentinel(self._above(names, line)) if names else line

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.BaseSuite:
        if not any(statement in self.before for statement in original_node.body):
            return updated_node
        lines: list[cst.BaseStatement] = []
        for original, line in zip(original_node.body, suite_lines(updated_node)):
            lines += [cst.SimpleStatementLine([_clone_statement(n)]) for n in self.before.get(original, ())]
            lines.append(line)
        return cst.IndentedBlock(body=lines)

    @staticmethod
    def _above(
        names: list[str], statement: cst.SimpleStatementLine | cst.BaseCompoundStatement
    ) -> list[cst.BaseStatement]:
        separating, attached = _split_leading_lines(statement.leading_lines)
        clones = [cst.SimpleStatementLine([_clone_statement(n)]) for n in names]
        clones[0] = clones[0].with_changes(leading_lines=separating)
        return [*clones, statement.with_changes(leading_lines=attached)]


PASS = ClonePass()
