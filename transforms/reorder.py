"""Swap two adjacent runs of statements: one optimizer's update moved before another's.

``FixKind.REORDER`` parameters (``Params``, ``gradsafe.transforms.params.ReorderParams``):

* ``fix.target`` spans consecutive whole statements of one block (``Module`` or ``IndentedBlock``);
* ``split``: the first ``split`` of them move after the others.

The analysis decides that the swap keeps the meaning (GS103: the first run's loss does not reach
the second optimizer's modules); the pass only moves statements.  Blank lines and comments above
the first statement stay above whatever comes first; each statement keeps its own otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from gradsafe.findings import Fix, FixKind, Span
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import ReorderParams as Params

Block = cst.Module | cst.IndentedBlock
Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement


class ReorderPass:
    kind = FixKind.REORDER

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        index = NodeIndex(module)
        result = PassResult(module)
        swaps: dict[Block, list[tuple[int, int, int]]] = {}
        taken: list[Span] = []
        for fix in fixes:
            located = _locate(index, fix.target)
            split = Params.of(fix).split
            if isinstance(located, str):
                result.declined.append((fix, located))
            elif any(fix.target.overlaps(other) for other in taken):
                result.declined.append((fix, "overlaps another run of statements this pass moves"))
            elif not 0 < split <= located[2] - located[1]:
                result.declined.append((fix, "the split does not fall inside the statements"))
            else:
                block, first, last = located
                swaps.setdefault(block, []).append((first, first + split, last))
                taken.append(fix.target)
                result.applied.append(fix)
        if result.applied:
            result.module = index.module.visit(_Swap(swaps))
        return result


def _locate(index: NodeIndex, target: Span) -> tuple[Block, int, int] | str:
    """The block and the indices of the statements ``target`` covers exactly, or why there are none."""
    for node, position in index.positions.items():
        parent = index.parent(node)
        if (
            isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            and isinstance(parent, (cst.Module, cst.IndentedBlock))
            and (position.start.line, position.start.column) == (target.line, target.col)
        ):
            body = list(parent.body)
            start = next(i for i, statement in enumerate(body) if statement is node)
            for last in range(start, len(body)):
                end = index.span(body[last])
                if (end.end_line, end.end_col) == (target.end_line, target.end_col):
                    return parent, start, last
    return "the target is not a run of whole statements of one block"


class _Swap(cst.CSTTransformer):
    def __init__(self, swaps: dict[Block, list[tuple[int, int, int]]]) -> None:
        super().__init__()
        self.swaps = swaps

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[no-untyped-def]
        updated = super().on_leave(original_node, updated_node)
        swaps = self.swaps.get(original_node)  # type: ignore[call-overload]
        if not swaps:
            return updated
        assert isinstance(updated, (cst.Module, cst.IndentedBlock))
        body: list[Statement] = [s for s in updated.body if isinstance(s, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
        if len(body) != len(updated.body):
            return updated
        for first, middle, last in sorted(swaps, reverse=True):
            before, after = body[first:middle], body[middle : last + 1]
            head = before[0].leading_lines
            before[0] = before[0].with_changes(leading_lines=after[0].leading_lines)
            after[0] = after[0].with_changes(leading_lines=head)
            body[first : last + 1] = after + before
        return updated.with_changes(body=body)


PASS = ReorderPass()
