"""A set of edits to a module, keyed by node, and the driver that applies them for a rewrite pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import libcst as cst
from gradsafe.findings import Fix
from gradsafe.transforms import PassResult
from gradsafe.transforms.comments import keep_comment_column
from gradsafe.transforms.locate import NodeIndex

EditResult = cst.CSTNode | cst.FlattenSentinel[cst.CSTNode]
Edit = Callable[[Any], EditResult]


# ---------------------------------------------------------------------- applying edits
class Edits:
    """Edits to one module, keyed by original node and applied in a single traversal.

    Each edit is a function of the *updated* node (its children already edited), so edits nested
    inside each other compose: a call is renamed and then wrapped in ``:=``; a helper's call site
    is rebound inside a function whose body another fix rewrites.  A fix plans into its own
    ``Edits`` and merges it only when the whole plan succeeded, so a declined fix leaves nothing.
    """

    def __init__(self) -> None:
        self._edits: dict[cst.CSTNode, list[Edit]] = {}

    def add(self, node: cst.CSTNode, edit: Edit) -> None:
        self._edits.setdefault(node, []).append(edit)

    def merge(self, other: Edits) -> None:
        for node, edits in other._edits.items():
            self._edits.setdefault(node, []).extend(edits)

    def apply(self, module: cst.Module) -> cst.Module:
        return module.visit(_ApplyEdits(self._edits)) if self._edits else module


class _ApplyEdits(cst.CSTTransformer):
    def __init__(self, edits: Mapping[cst.CSTNode, list[Edit]]) -> None:
        super().__init__()
        self._edits = edits
        self._edited: list[bool] = []  # per enclosing simple statement line: was anything in it edited

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.SimpleStatementLine):
            self._edited.append(False)
        return True

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> EditResult:  # type: ignore[override]
        result: EditResult = updated_node
        if isinstance(original_node, cst.SimpleStatementLine) and isinstance(updated_node, cst.SimpleStatementLine):
            if self._edited.pop():
                result = keep_comment_column(original_node, updated_node)
        if self._edited and original_node in self._edits:
            self._edited[-1] = True
        for edit in self._edits.get(original_node, ()):
            result = edit(result)
        return result


Planner = Callable[[NodeIndex, Fix, Edits], str | None]


def run_pass(module: cst.Module, fixes: Sequence[Fix], plan: Planner) -> PassResult:
    """Plan every fix with ``plan`` (which returns a reason to decline, or None), then edit once."""
    index = NodeIndex.of(module)
    result = PassResult(index.module)
    edits = Edits()
    for fix in fixes:
        draft = Edits()
        reason = plan(index, fix, draft)
        if reason is None:
            edits.merge(draft)
            result.applied.append(fix)
        else:
            result.declined.append((fix, reason))
    result.module = edits.apply(index.module)
    return result
