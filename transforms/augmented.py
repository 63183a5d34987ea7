"""Augmented assignment as the rewrites see it: ``x += y`` is in-place for a tensor, and its
out-of-place form is ``x = x + y`` with the right operand parenthesised as precedence requires."""

from __future__ import annotations

from typing import cast

import libcst as cst

# ---------------------------------------------------------------------- augmented assignment
_BINARY_FOR_AUGMENTED: dict[type[cst.BaseAugOp], type[cst.BaseBinaryOp]] = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo,
    cst.PowerAssign: cst.Power,
    cst.LeftShiftAssign: cst.LeftShift,
    cst.RightShiftAssign: cst.RightShift,
    cst.BitAndAssign: cst.BitAnd,
    cst.BitOrAssign: cst.BitOr,
    cst.BitXorAssign: cst.BitXor,
}

# How tightly each binary operator binds (Python's grammar, higher binds tighter).
_BINDING: dict[type[cst.BaseBinaryOp], int] = {
    cst.BitOr: 1, cst.BitXor: 2, cst.BitAnd: 3, cst.LeftShift: 4, cst.RightShift: 4, cst.Add: 5, cst.Subtract: 5,
    cst.Multiply: 6, cst.Divide: 6, cst.FloorDivide: 6, cst.Modulo: 6, cst.MatrixMultiply: 6, cst.Power: 8,
}
_UNARY = 7
_ATOM = 9


def _binding(expr: cst.BaseExpression) -> int:
    if expr.lpar:
        return _ATOM
    if isinstance(expr, cst.BinaryOperation):
        return _BINDING[type(expr.operator)]
    if isinstance(expr, cst.UnaryOperation):
        return 0 if isinstance(expr.operator, cst.Not) else _UNARY
    if isinstance(expr, (cst.Comparison, cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr, cst.Yield,
                         cst.Tuple, cst.StarredElement)):
        return 0
    return _ATOM


def is_augmented_inplace(aug: cst.AugAssign) -> bool:
    """``@=`` is not in-place on tensors (there is no ``__imatmul__``); every other operator is."""
    return type(aug.operator) in _BINARY_FOR_AUGMENTED


def _spacing(operator: cst.BaseAugOp) -> tuple[cst.BaseParenthesizableWhitespace, cst.BaseParenthesizableWhitespace]:
    """The whitespace around an augmented operator (every concrete one has it; the base class does
    not declare it)."""
    before: cst.BaseParenthesizableWhitespace = operator.whitespace_before  # type: ignore[attr-defined]
    after: cst.BaseParenthesizableWhitespace = operator.whitespace_after  # type: ignore[attr-defined]
    return before, after


def augmented_value(aug: cst.AugAssign) -> cst.BinaryOperation:
    """``x op= v`` as the expression ``x op v``: same operator spacing, ``v`` parenthesised if needed."""
    op_type = _BINARY_FOR_AUGMENTED[type(aug.operator)]
    before, after = _spacing(aug.operator)
    operator = op_type(whitespace_before=before, whitespace_after=after)  # type: ignore[call-arg]  # every concrete operator takes both
    right = aug.value
    # Left-associative operators need parentheses around an equally tight right side
    # (x -= a - b); `**` is right-associative and takes a unary operand as it is (x ** -a).
    weakest = _UNARY - 1 if op_type is cst.Power else _BINDING[op_type]
    if _binding(right) <= weakest:
        right = right.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.BinaryOperation(left=aug.target.deep_clone(), operator=operator, right=right)


def augmented_as_assignment(aug: cst.AugAssign) -> cst.Assign:
    """``x op= v`` -> ``x = x op v`` with the user's spacing around the operator."""
    return cst.Assign(
        # `=` takes the operator's spacing, which is plain whitespace on one line (a line break
        # around `+=` needs parentheses, and then the whitespace belongs to them).
        targets=[cst.AssignTarget(aug.target, whitespace_before_equal=cast(cst.SimpleWhitespace, _spacing(aug.operator)[0]),
                                  whitespace_after_equal=cast(cst.SimpleWhitespace, _spacing(aug.operator)[1]))],
        value=augmented_value(aug),
        semicolon=aug.semicolon,
    )
