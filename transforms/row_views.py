"""Rows by indexing: iterate a tensor through ``t[i]`` instead of ``unbind``.

``for row in t`` (and ``zip(t, ...)``, ``enumerate(t)``) calls ``Tensor.__iter__``, that is
``t.unbind(0)``: every row is an output of a function that returns several views, and autograd
forbids writing one in place.  ``t[i]`` is an ordinary view (``select``): writing it in place is
recorded on ``t`` (``CopySlices``), so the loop keeps doing what it meant, row by row into ``t``.

``FixKind.ROW_VIEWS`` parameters (``Params``, ``gradsafe.transforms.params.RowViewsParams``):
``name``, the plain name at ``fix.target`` (the iterated expression), which becomes
``(<name>[i] for i in range(len(<name>)))`` (a generator: the index does not leak into the scope).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import RowViewsParams as Params


class RowViewsPass:
    kind = FixKind.ROW_VIEWS

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        index = NodeIndex(module)
        result = PassResult(module)
        replace: dict[cst.CSTNode, cst.BaseExpression] = {}
        for fix in fixes:
            name = Params.of(fix).name
            node = index.find(fix.target, cst.Name)
            if node is None or name is None or node.value != name:
                result.declined.append((fix, "no iterated name at the target span"))
                continue
            if node in replace:
                result.applied.append(fix)
                continue
            statement = index.enclosing_statement(node)
            taken = _names(statement) if statement is not None else {name}
            rows = _rows(name, next(c for c in _INDEX_NAMES if c not in taken))
            arg = index.parent(node)
            call = index.parent(arg) if isinstance(arg, cst.Arg) else None
            if isinstance(call, cst.Call) and len(call.args) == 1:
                rows = rows.with_changes(lpar=[], rpar=[])  # `enumerate(t[i] for i in ...)`
            replace[node] = rows
            result.applied.append(fix)
        if replace:
            result.module = index.module.visit(_Replace(replace))
        return result


# Index names, first unused in the loop statement wins (the last one is never a Python name).
_INDEX_NAMES = ("i", "j", "k", "row_index", "_row_index")


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

    node.visit(_Collect())
    return found


def _rows(name: str, i: str) -> cst.BaseExpression:
    return cst.parse_expression(f"({name}[{i}] for {i} in range(len({name})))")


class _Replace(cst.CSTTransformer):
    def __init__(self, replace: dict[cst.CSTNode, cst.BaseExpression]) -> None:
        self.replace = replace

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.replace.get(original_node, updated_node)


PASS = RowViewsPass()
