"""The safety check every rewrite passes before anything is shown or written (black's idea, sharpened).

black proves a reformat harmless by comparing the ``ast`` before and after.  A fix changes the
``ast`` on purpose, so gradsafe asks something narrower: *the rewritten file compiles, and its
``ast`` differs from the original's only where the applied fixes are allowed to reach*.  A pass
that also edits an unrelated line, drops a statement or renames something in another function is
caught here, and the file is skipped with an internal error instead of being written.

What a fix may change (its *reach*), precisely:

* A fix touches its ``target`` span and every span named in its ``params`` (a helper-return fix
  names its call sites, a parameter-local fix its function).
* The **body of the innermost function** (``def``/``async def``) enclosing a touched span may
  change freely: passes rebind names, insert clones and rewrite later uses within a function.
  The function's header (decorators, name, arguments, annotations) must stay the same unless a
  touched span lies in it.
* Everywhere else the two trees are compared **statement by statement**, recursing into every
  block (module, class and function bodies, ``if``/``for``/``while``/``with``/``try``/``match``
  branches).  Within a block, statements are aligned as a sequence.  A statement a touched span
  lies on *directly* (not wholly inside one statement of its own blocks: a loop the no-grad pass
  wraps, the statement an out-of-place fix rewrites) may be replaced by any statements, and
  statements may be inserted right before or after it (a clone).  Any other statement must have an
  identical ``ast`` (positions aside); a compound statement must keep its header (the test, the
  loop target, the ``with`` items, the ``except`` types...) unless a touched span lies in it, and
  its blocks are compared in turn.
* At module level, an inserted ``import torch`` is always allowed (the no-grad pass adds it to a
  file that has none).

The check runs after every round of the fix loop, against that round's fixes and text, so over
the rounds the final file differs from the original only in the reach of some applied fix.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Iterator, Sequence

from gradsafe.findings import Fix, Span
from gradsafe.files.source import SourceFile

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# Fields of a compound statement that hold statements, and those that hold clauses that do.
_BLOCK_FIELDS = ("body", "orelse", "finalbody")
_CLAUSE_FIELDS = ("handlers", "cases")
_IMPORT_TORCH = ast.dump(ast.Import(names=[ast.alias(name="torch")]))


class RewriteError(Exception):
    """The rewritten text failed the safety check; the caller discards every fix of the file."""


def touched_spans(fixes: Iterable[Fix]) -> list[Span]:
    """Every span the fixes name: their targets and the spans in their parameters."""
    spans: list[Span] = []
    for fix in fixes:
        spans.append(fix.target)
        spans.extend(_spans_in(fix.params.values()))
    return spans


def _spans_in(values: Iterable[object]) -> Iterator[Span]:
    for value in values:
        if isinstance(value, Span):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from _spans_in(value)
        elif isinstance(value, dict):
            yield from _spans_in(value.values())


def check_rewrite(original: str, rewritten: str, filename: str, touched: Sequence[Span]) -> None:
    """Raise ``RewriteError`` unless ``rewritten`` compiles and differs from ``original`` only within
    the reach of the ``touched`` spans (positions in ``original``)."""
    try:
        new_tree = ast.parse(rewritten, filename=filename)
        compile(new_tree, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise RewriteError(f"the rewritten file does not compile ({exc}); no fix was applied") from None
    source = SourceFile.from_text(original, filename)
    old_tree = ast.parse(original, filename=filename)
    changed = _Reach(source, old_tree, touched).first_change(old_tree, new_tree)
    if changed is not None:
        statement = source.lines[changed - 1].strip() if changed <= len(source.lines) else ""
        raise RewriteError(
            f"the rewrite changed line {changed} (`{statement}`), outside the code its fixes touch; no fix was applied"
        )


class _Changed(Exception):
    """A change outside the reach of the fixes, at ``line`` of the original."""

    def __init__(self, line: int) -> None:
        self.line = line


class _Reach:
    """Compares two module trees against the reach of a set of touched spans."""

    def __init__(self, source: SourceFile, tree: ast.Module, touched: Sequence[Span]) -> None:
        self.source = source
        self.touched = list(touched)
        functions = [node for node in ast.walk(tree) if isinstance(node, _FUNCTIONS)]
        self.free: set[int] = set()  # id() of the functions whose bodies may change
        for span in self.touched:
            enclosing = [f for f in functions if self.span(f).contains(span)]
            if enclosing:
                self.free.add(id(max(enclosing, key=lambda f: (self.span(f).line, self.span(f).col))))

    def first_change(self, old: ast.Module, new: ast.Module) -> int | None:
        """The original line of the first change outside the reach, or None."""
        try:
            self.block(old.body, new.body, 1, module=True)
        except _Changed as exc:
            return exc.line
        return None

    # ------------------------------------------------------------------ positions
    def span(self, node: ast.AST) -> Span:
        """A statement's span, from its first decorator when it has some."""
        span = self.source.span_of(node)
        decorators = getattr(node, "decorator_list", None)
        if decorators:
            first = self.source.span_of(decorators[0])
            at = self.source.lines[first.line - 1].rfind("@", 0, first.col)  # the ast starts after the "@"
            span = Span(first.line, max(at, 0), span.end_line, span.end_col)
        return span

    def is_touched(self, node: ast.AST) -> bool:
        """Whether a touched span lies on ``node`` itself, not wholly inside one statement of its blocks."""
        span = self.span(node)
        inner = [self.span(child) for child in _children(node)]
        return any(
            (span.overlaps(t) or span.contains(t)) and not any(c.contains(t) for c in inner) for t in self.touched
        )

    def header_touched(self, node: ast.AST) -> bool:
        """Whether a touched span lies in the part of a compound statement before its first block."""
        start = self.span(node)
        children = _children(node)
        if not children:
            return self.is_touched(node)
        first = min((self.span(c) for c in children), key=lambda s: (s.line, s.col))
        header = Span(start.line, start.col, first.line, first.col)
        return any(header.overlaps(t) or header.contains(t) for t in self.touched)

    # ------------------------------------------------------------------ comparison
    def block(self, old: list[ast.stmt], new: list[ast.stmt], owner_line: int, *, module: bool = False) -> None:
        """Align two statement lists and check every difference; ``owner_line`` names an empty block."""
        old_keys = [ast.dump(s) for s in old]
        new_keys = [ast.dump(s) for s in new]
        matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            removed, added = old[i1:i2], new[j1:j2]
            if not removed:
                if not (module and all(key == _IMPORT_TORCH for key in new_keys[j1:j2])):
                    self.insertion(old, i1, owner_line)
            elif len(removed) == len(added):
                for k, (before, after) in enumerate(zip(removed, added)):
                    if old_keys[i1 + k] != new_keys[j1 + k]:
                        self.statement(before, after)
            else:
                for statement in removed:
                    if not self.is_touched(statement):
                        raise _Changed(statement.lineno)

    def insertion(self, old: list[ast.stmt], index: int, owner_line: int) -> None:
        """New statements before ``old[index]`` must sit next to a touched statement."""
        neighbours = old[max(index - 1, 0) : index + 1]
        if not any(self.is_touched(s) for s in neighbours):
            raise _Changed(neighbours[-1].lineno if neighbours else owner_line)

    def statement(self, old: ast.stmt, new: ast.stmt) -> None:
        """Two aligned statements whose ``ast`` differs."""
        if type(old) is not type(new) or not _is_compound(old):
            if not self.is_touched(old):
                raise _Changed(old.lineno)
            return
        if _header(old) != _header(new) and not self.header_touched(old):
            raise _Changed(old.lineno)
        if id(old) in self.free:
            return
        for name in _BLOCK_FIELDS:
            if hasattr(old, name):
                self.block(getattr(old, name), getattr(new, name), old.lineno)
        for name in _CLAUSE_FIELDS:
            if hasattr(old, name):
                self.clauses(old, getattr(old, name), getattr(new, name))

    def clauses(self, owner: ast.stmt, old: list[ast.AST], new: list[ast.AST]) -> None:
        """``except`` handlers or ``case`` clauses: each a header and a body."""
        if len(old) != len(new):
            if not self.is_touched(owner):
                raise _Changed(owner.lineno)
            return
        for before, after in zip(old, new):
            # An ``except`` clause has a position; a ``case`` clause does not (its pattern has).
            positioned = before if hasattr(before, "lineno") else owner
            if _header(before) != _header(after) and not self.header_touched(positioned):
                raise _Changed(positioned.lineno)
            self.block(before.body, after.body, positioned.lineno)  # type: ignore[attr-defined]


def _children(node: ast.AST) -> list[ast.AST]:
    """The statements and ``except`` clauses directly in a compound statement's blocks.

    A ``case`` clause has no position of its own: its statements stand for it.
    """
    children: list[ast.AST] = []
    for name in (*_BLOCK_FIELDS, *_CLAUSE_FIELDS):
        for child in getattr(node, name, None) or ():
            children.extend([child] if hasattr(child, "lineno") else child.body)
    return children


def _is_compound(node: ast.AST) -> bool:
    return any(hasattr(node, name) for name in (*_BLOCK_FIELDS, *_CLAUSE_FIELDS))


def _header(node: ast.AST) -> list[str]:
    """Everything of a compound statement or clause but its blocks and clauses, positions aside."""
    skipped = {*_BLOCK_FIELDS, *_CLAUSE_FIELDS}
    parts = []
    for name, value in ast.iter_fields(node):
        if name in skipped:
            continue
        values = value if isinstance(value, list) else [value]
        parts.append(name + "=" + ";".join(ast.dump(v) if isinstance(v, ast.AST) else repr(v) for v in values))
    return parts
