"""Trailing comments keep their column when a rewrite changes the length of their line.

Code often aligns its trailing comments::

    g = g * 2.0                          # scale
    h.add_(1)                            # shift

and a rewrite that lengthens or shortens the code (``h.add_(1)`` -> ``h = h.add(1)``) would move
its comment out of the column.  A comment that was aligned (more than two spaces before it) stays
in its column while the code leaves room for the two spaces PEP 8 asks for; a comment written two
spaces (or one) after the code keeps that spacing, since nothing was aligned to it.
"""

from __future__ import annotations

import libcst as cst

_EMPTY = cst.Module(body=[])
MIN_GAP = 2  # spaces before an inline comment (PEP 8)


def _width(line: cst.SimpleStatementLine) -> int | None:
    """The width of the line's code without its comment, or None when it spans several lines."""
    code = _EMPTY.code_for_node(line.with_changes(leading_lines=(), trailing_whitespace=cst.TrailingWhitespace()))
    code = code[:-1] if code.endswith("\n") else code
    return None if "\n" in code else len(code)


def keep_comment_column(original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """``updated`` with its trailing comment moved back to the column it had in ``original``."""
    trailing = original.trailing_whitespace
    if trailing.comment is None or updated.trailing_whitespace.comment is None:
        return updated
    gap = len(trailing.whitespace.value)
    if gap <= MIN_GAP:
        return updated
    old_width, new_width = _width(original), _width(updated)
    if old_width is None or new_width is None or old_width == new_width:
        return updated
    column = old_width + gap
    new_gap = max(column - new_width, MIN_GAP)
    whitespace = cst.SimpleWhitespace(" " * new_gap)
    return updated.with_changes(trailing_whitespace=updated.trailing_whitespace.with_changes(whitespace=whitespace))
