"""Assign back: a call whose result a statement discarded is bound to its receiver.

``x.clamp(0, 1)`` as a statement computes a clamped tensor and throws it away; ``x = x.clamp(0,
1)`` keeps it, so the code after it reads the value its author meant.  This changes what the code
computes on purpose: the fix is *unsafe* (``gradsafe fix --unsafe-fixes``), planned by GS601.

``FixKind.ASSIGN_BACK`` parameters (``Params``, ``gradsafe.transforms.params.AssignBackParams``):
``name``, what the result is bound to: a plain name, or an attribute chain ending in ``.data`` or
``.grad`` (``p.grad.data``).  ``fix.target`` is the call, which must be the
whole value of an expression statement; the statement's comments and the call's formatting stay.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from gradsafe.findings import Fix, FixKind
from gradsafe.transforms import PassResult
from gradsafe.transforms.locate import NodeIndex
from gradsafe.transforms.params import AssignBackParams as Params


class AssignBackPass:
    kind = FixKind.ASSIGN_BACK

    def apply(self, module: cst.Module, fixes: Sequence[Fix]) -> PassResult:
        index = NodeIndex(module)
        result = PassResult(module)
        replace: dict[cst.CSTNode, cst.Assign] = {}
        for fix in fixes:
            name = Params.of(fix).name
            call = index.find(fix.target, cst.Call)
            statement = index.parent(call) if call is not None else None
            if call is None or not isinstance(statement, cst.Expr) or not _assignable(name):
                result.declined.append((fix, "no expression statement that is a call at the target span"))
                continue
            target = cst.parse_expression(name)
            assert isinstance(target, (cst.Name, cst.Attribute))  # ``_assignable`` allows only these
            replace[statement] = cst.Assign(targets=[cst.AssignTarget(target)], value=statement.value)
            result.applied.append(fix)
        if replace:
            result.module = index.module.visit(_Replace(replace))
        return result


def _assignable(name: str) -> bool:
    """A name or a dotted chain of names (``p.grad.data``)."""
    return bool(name) and all(part.isidentifier() for part in name.split("."))


class _Replace(cst.CSTTransformer):
    def __init__(self, replace: dict[cst.CSTNode, cst.Assign]) -> None:
        self.replace = replace

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.BaseSmallStatement:
        assign = self.replace.get(original_node)
        return updated_node if assign is None else assign.with_changes(semicolon=updated_node.semicolon)


PASS = AssignBackPass()
