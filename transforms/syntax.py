"""Small LibCST helpers the rewrite passes share: dotted names, assignments, renaming a method,
dropping or finding an argument, the uses of a name, walking a subtree."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst


# ---------------------------------------------------------------------- small CST helpers
def dotted_name(expr: cst.BaseExpression) -> str | None:
    """``self.h`` for the expression ``self.h`` (parentheses ignored); None for anything else."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name):
        parts.append(expr.value)
        return ".".join(reversed(parts))
    return None


def name_expression(name: str) -> cst.BaseExpression:
    """The expression for a dotted name (``"self.h"`` -> ``self.h``)."""
    return cst.parse_expression(name)


def assignment(name: str, value: cst.BaseExpression, like: cst.BaseSmallStatement | None = None) -> cst.Assign:
    """``name = value`` (keeping the semicolon of the statement it replaces)."""
    semicolon = like.semicolon if like is not None else cst.MaybeSentinel.DEFAULT
    target = name_expression(name)
    assert isinstance(target, (cst.Name, cst.Attribute))  # a dotted name is one of these
    return cst.Assign(targets=[cst.AssignTarget(target)], value=value, semicolon=semicolon)


def rename_method(call: cst.Call, method: str) -> cst.Call:
    assert isinstance(call.func, cst.Attribute)
    return call.with_changes(func=call.func.with_changes(attr=cst.Name(method)))


def without_argument(call: cst.Call, keyword: str) -> cst.Call:
    """``call`` without its ``keyword=`` argument; the comma style of the argument list is kept."""
    args = list(call.args)
    position = next(i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == keyword)
    removed = args.pop(position)
    if position == len(args) and args:
        # The removed argument was the last: its comma (or lack of one) ends the list now.
        args[-1] = args[-1].with_changes(comma=removed.comma)
    return call.with_changes(args=args)


def keyword_argument(call: cst.Call, keyword: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)


def input_argument(call: cst.Call) -> cst.Arg | None:
    """The tensor argument of a torch function: the first positional one, or ``input=``."""
    first = call.args[0] if call.args and call.args[0].keyword is None and not call.args[0].star else None
    return first or keyword_argument(call, "input")


class _NameUses(cst.CSTVisitor):
    """Every ``Name`` that refers to a variable (not attribute names or keyword names)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.found: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.name:
            self.found.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False


def name_uses(node: cst.CSTNode, name: str) -> list[cst.Name]:
    visitor = _NameUses(name)
    node.visit(visitor)
    return visitor.found


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and everything below it, parents before children."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(current.children))
