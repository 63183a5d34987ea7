"""Wrap optimizer-style updates of parameters and buffers in ``with torch.no_grad():``.

An in-place update of a leaf that requires grad raises in grad mode, and a buffer updated with a
value that requires grad is silently attached to the graph.  ``torch.optim`` and BatchNorm do such
updates under ``no_grad``, and that is the only correct rewrite: an out-of-place ``p = p - lr *
p.grad`` rebinds a loop variable (updating nothing) or makes a non-leaf whose ``.grad`` stays None,
and ``self.weight = self.weight - ...`` raises ``TypeError`` on a Parameter.

``FixKind.NO_GRAD`` parameters (``Params``, ``gradsafe.transforms.params.NoGradParams``):

* ``fix.target`` spans one or more consecutive whole statements of one block (the judge merged
  adjacent updates and lifted loops that only update).  Several fixes may share a target; the block
  is wrapped once.  Comments above the first statement move above the ``with``.  Statements of a
  one-line body (``if p.grad is not None: p -= ...``) are first put on lines of their own.
* ``strip_data``: inside the block, an update whose receiver is ``.data`` loses it
  (``p.data.add_(g)`` -> ``p.add_(g)``, ``p.data -= g`` -> ``p -= g``), only where the update is the
  whole statement, so no result of the ``.data`` alias is used.

The ``with`` uses the name the file imports torch under (``import torch as T`` -> ``T.no_grad()``);
a file without ``import torch`` gets one.  A target that already runs under ``no_grad``,
``inference_mode`` or ``set_grad_enabled(False)`` (a ``with`` block or a decorated function) is
declined rather than wrapped twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TypeGuard
from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from gradsafe.analysis.optable import load as load_optable
from gradsafe.findings import Fix, FixKind, Span
from gradsafe.transforms import PassResult
from gradsafe.transforms.clone import suite_lines
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import NoGradParams as Params

Container = cst.Module | cst.IndentedBlock | cst.SimpleStatementSuite


@dataclass(frozen=True)
class _Range:
    """Statements ``first..last`` (indices) of a block or of a one-line body."""

    first: int
    last: int
    strip_data: bool


class NoGradPass:
    kind = FixKind.NO_GRAD

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        index = NodeIndex.of(module)
        units = _statement_units(index)
        ranges: dict[Container, list[_Range]] = defaultdict(list)
        wrapped: list[Span] = []
        result = PassResult(module)
        by_target: dict[Span, list[Fix]] = defaultdict(list)
        for fix in fixes:
            by_target[fix.target].append(fix)
        for target, group in by_target.items():
            located = _locate(index, units, target)
            if isinstance(located, str):
                reason = located
            else:
                container, first, last = located
                if any(target.overlaps(other) for other in wrapped):
                    reason = "overlaps another block this pass wraps"
                elif _grad_off_around(index, container.body[first]):
                    reason = "the statements already run with grad mode off"
                else:
                    ranges[container].append(_Range(first, last, any(Params.of(f).strip_data for f in group)))
                    wrapped.append(target)
                    result.applied += group
                    continue
            result.declined += [(fix, reason) for fix in group]
        if not result.applied:
            return result
        torch_name = _torch_binding(index.module)
        edited = index.module.visit(_WrapInNoGrad(ranges, torch_name or "torch"))
        if torch_name is None:
            # Imported here: ``libcst.codemod`` loads ``libcst.matchers``, which costs more than a
            # whole fix round, and few files need the import added.
            from libcst.codemod import CodemodContext
            from libcst.codemod.visitors import AddImportsVisitor

            context = CodemodContext()
            AddImportsVisitor.add_needed_import(context, "torch")
            edited = AddImportsVisitor(context).transform_module(edited)
        result.module = edited
        return result


# ---------------------------------------------------------------------- locating the statements
def _statement_units(index: NodeIndex) -> dict[tuple[int, int], cst.CSTNode]:
    """Where each wrappable statement starts: lines and compound statements of a block, and the
    small statements of one-line bodies."""
    units = {}
    for node, position in index.positions.items():
        parent = index.parent(node)
        in_block = isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) and isinstance(
            parent, (cst.Module, cst.IndentedBlock)
        )
        if in_block or (isinstance(node, cst.BaseSmallStatement) and isinstance(parent, cst.SimpleStatementSuite)):
            units[(position.start.line, position.start.column)] = node
    return units


def _locate(
    index: NodeIndex, units: dict[tuple[int, int], cst.CSTNode], target: Span
) -> tuple[Container, int, int] | str:
    """The block and the indices of the statements ``target`` covers exactly, or why there are none."""
    not_whole = "the target is not a run of whole statements of one block"
    first = units.get((target.line, target.col))
    if first is None:
        return not_whole
    container = index.parent(first)
    assert isinstance(container, (cst.Module, cst.IndentedBlock, cst.SimpleStatementSuite))
    body = container.body
    start = next(i for i, statement in enumerate(body) if statement is first)
    for last in range(start, len(body)):
        end = index.span(body[last])
        if (end.end_line, end.end_col) == (target.end_line, target.end_col):
            return container, start, last
    return not_whole


def _grad_off_around(index: NodeIndex, statement: cst.CSTNode) -> bool:
    """Does ``statement`` already run with grad mode off, as far as its own function shows?"""
    for ancestor in index.ancestors(statement):
        if isinstance(ancestor, cst.With):
            modes = [_grad_mode(item.item) for item in ancestor.items]
            if False in modes:
                return True
            if True in modes:
                return False
        elif isinstance(ancestor, cst.FunctionDef):
            return any(_grad_mode(decorator.decorator) is False for decorator in ancestor.decorators)
        elif isinstance(ancestor, (cst.ClassDef, cst.Lambda)):
            return False
    return False


def _grad_mode(expr: cst.BaseExpression) -> bool | None:
    """False for ``no_grad()``/``inference_mode()``/``set_grad_enabled(False)``, True for
    ``enable_grad()``/``set_grad_enabled(True)``, None otherwise (matched on the last name, with or
    without the call)."""
    call = expr if isinstance(expr, cst.Call) else None
    name = get_full_name_for_node(call.func if call else expr) or ""
    last = name.rsplit(".", 1)[-1]
    first_arg = call.args[0].value if call and call.args else None
    literal = first_arg.value if isinstance(first_arg, cst.Name) and first_arg.value in ("True", "False") else None
    if last == "no_grad":
        return False
    if last == "inference_mode":
        return None if literal == "False" else False
    if last == "enable_grad":
        return True
    if last == "set_grad_enabled" and literal is not None:
        return literal == "True"
    return None


def _torch_binding(module: cst.Module) -> str | None:
    """The module-level name torch is imported under (``torch`` preferred), or None."""
    finder = _TorchImports()
    module.visit(finder)
    if "torch" in finder.names:
        return "torch"
    return finder.names[0] if finder.names else None


class _TorchImports(cst.CSTVisitor):
    """Module-level ``import torch``, ``import torch as T``, ``import torch.nn`` (binds ``torch``),
    not counting imports under ``if TYPE_CHECKING:``, which do not run."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_If(self, node: cst.If) -> bool:
        return (get_full_name_for_node(node.test) or "").rsplit(".", 1)[-1] != "TYPE_CHECKING"

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None:
                if dotted == "torch" and isinstance(alias.asname.name, cst.Name):
                    self.names.append(alias.asname.name.value)
            elif dotted == "torch" or dotted.startswith("torch."):
                self.names.append("torch")
        return False


# ---------------------------------------------------------------------- editing
class _WrapInNoGrad(cst.CSTTransformer):
    def __init__(self, ranges: dict[Container, list[_Range]], torch_name: str) -> None:
        super().__init__()
        self.ranges = ranges
        self.torch_name = torch_name

    def on_leave(  # type: ignore[override]  # libcst types it with one node type for both
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        updated = super().on_leave(original_node, updated_node)
        ranges = self.ranges.get(original_node)  # type: ignore[call-overload]
        if not ranges:
            return updated
        if isinstance(updated, cst.SimpleStatementSuite):
            return cst.IndentedBlock(body=self._wrap([*suite_lines(updated)], ranges))
        assert isinstance(updated, (cst.Module, cst.IndentedBlock))
        return updated.with_changes(body=self._wrap(list(updated.body), ranges))

    def _wrap(self, body: list[cst.BaseStatement], ranges: list[_Range]) -> list[cst.BaseStatement]:
        for r in sorted(ranges, key=lambda r: r.first, reverse=True):
            statements = body[r.first : r.last + 1]
            if r.strip_data:
                statements = [s.visit(_StripDataReceiver()) for s in statements]  # type: ignore[misc]
            first = statements[0]
            assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))  # every statement
            leading = first.leading_lines
            statements[0] = statements[0].with_changes(leading_lines=())
            block = cst.With(
                items=[cst.WithItem(cst.Call(cst.Attribute(cst.Name(self.torch_name), cst.Name("no_grad"))))],
                body=cst.IndentedBlock(body=statements),
                leading_lines=leading,
            )
            body[r.first : r.last + 1] = [block]
        return body


class _StripDataReceiver(cst.CSTTransformer):
    """``p.data.add_(g)`` -> ``p.add_(g)`` and ``p.data -= g`` -> ``p -= g`` for whole-statement updates.

    Under ``no_grad`` the two spellings write the same storage; only a statement whose value is
    discarded qualifies, because ``p.data.add_(g)`` returns the alias, ``p.add_(g)`` the parameter.
    """

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        if isinstance(updated_node.value, cst.Call):
            stripped = _strip_update_chain(updated_node.value)
            if stripped is not None:
                return updated_node.with_changes(value=stripped)
        return updated_node

    def leave_AugAssign(self, original_node: cst.AugAssign, updated_node: cst.AugAssign) -> cst.AugAssign:
        target = updated_node.target
        if _is_data(target) and not isinstance(updated_node.operator, cst.MatrixMultiplyAssign):
            return updated_node.with_changes(target=target.value)
        return updated_node


def _strip_update_chain(call: cst.Call) -> cst.Call | None:
    """The chain of in-place calls ``x.data.mul_(d).add_(y)`` with the ``.data`` receiver removed,
    or None when the chain does not start at a ``.data`` receiver."""
    func = call.func
    table = load_optable()
    if not isinstance(func, cst.Attribute):
        return None
    info = table.inplace_method(func.attr.value)
    if info is None or not info.mutates_data:
        return None
    receiver = func.value
    if _is_data(receiver):
        return call.with_changes(func=func.with_changes(value=receiver.value))
    if isinstance(receiver, cst.Call):
        inner = _strip_update_chain(receiver)
        return None if inner is None else call.with_changes(func=func.with_changes(value=inner))
    return None


def _is_data(node: cst.BaseExpression) -> TypeGuard[cst.Attribute]:
    return isinstance(node, cst.Attribute) and node.attr.value == "data"


PASS = NoGradPass()
