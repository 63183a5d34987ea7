"""What the program's source calls the tensor a hazard wrote: ``s`` in ``s.mul_(2)``.

The runtime knows the position being executed (``code.co_positions()``: UTF-8 byte columns, the
same as ``ast``), so the expression is found by exact position in the file's syntax tree: the
receiver of ``y.mul_(2)``, the target of ``y += 1`` or ``y[0] = v``, the ``out=`` of
``torch.add(a, b, out=buf)``, or the first argument of a call that wrote through it
(``self.act(h)``, ``scale_(h)``).  Nothing is guessed: no exact match, no name.
"""

from __future__ import annotations

import ast
import functools
import tokenize

from .events import Site

_LONGEST = 40


def written_name(site: Site) -> str | None:
    """The source text of the tensor written at ``site``, when the expression says it plainly."""
    if site.col is None or site.end_line is None or site.end_col is None:
        return None
    position = (site.line, site.col, site.end_line, site.end_col)
    for node in _positions(site.path).get(position, ()):
        target = _written_expression(node)
        if target is not None:
            text = ast.unparse(target)
            return text if len(text) <= _LONGEST and "\n" not in text else None
    return None


@functools.lru_cache(maxsize=64)
def _positions(path: str) -> dict[tuple[int, int, int, int], list[ast.AST]]:
    """Statements and expressions of a file by position, outermost first."""
    try:
        with tokenize.open(path) as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    found: dict[tuple[int, int, int, int], list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.expr, ast.stmt)) and node.end_lineno is not None and node.end_col_offset is not None:
            found.setdefault((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset), []).append(node)
    return found


def _written_expression(node: ast.AST) -> ast.expr | None:
    """Which sub-expression of a statement or call is the tensor it writes."""
    if isinstance(node, ast.AugAssign):
        return node.target
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
        return node.value
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "out":
                return keyword.value
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr.endswith("_") and not func.attr.startswith("__"):
            return func.value
        if node.args and isinstance(node.args[0], (ast.Name, ast.Attribute, ast.Subscript)):
            return node.args[0]
    return None
