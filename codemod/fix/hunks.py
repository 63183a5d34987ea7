"""What a rewrite changed, line by line: the changed line ranges, and where the unchanged lines went.

Reports need two views of one rewrite of one file.  SARIF ``fixes`` describe it as replacements
of the changed line ranges of the file as read (``Hunk``), and deciding which findings of the
file as read a rewrite resolved needs to know where each line of the rewritten text came from
(``LineMap``).  Both come from one line diff, so they always agree.

Lines are split the way ``SourceFile`` splits them (``\\r\\n``, ``\\r`` and ``\\n``, endings kept),
so a CRLF file's hunks carry its ``\\r\\n`` and character offsets count every character of it.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from functools import cached_property

from gradsafe.files.source import split_lines


@dataclass(frozen=True)
class Hunk:
    """Lines ``start`` to ``end`` (0-based, end exclusive) of the old text become ``new_lines``.

    ``start == end`` is a pure insertion before old line ``start``; empty ``new_lines`` a deletion.
    """

    start: int
    end: int
    new_lines: tuple[str, ...]

    @property
    def new_text(self) -> str:
        return "".join(self.new_lines)


@dataclass(frozen=True)
class LineDiff:
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    hunks: tuple[Hunk, ...]
    # (old start, new start, length) of each run of unchanged lines, 0-based, in order.
    equal_runs: tuple[tuple[int, int, int], ...]

    def old_line(self, new_line: int) -> int | None:
        """The 1-based line of the old text that ``new_line`` (1-based) is an unchanged copy of."""
        for old_start, new_start, length in self.equal_runs:
            if new_start < new_line <= new_start + length:
                return old_start + new_line - new_start
        return None

    def hunk_at(self, new_line: int) -> Hunk | None:
        """The hunk whose new lines include ``new_line`` (1-based), when that line was changed."""
        offset = 0  # new-minus-old line shift before the hunk being looked at
        for hunk in self.hunks:
            new_start = hunk.start + offset
            if new_start < new_line <= new_start + len(hunk.new_lines):
                return hunk
            offset += len(hunk.new_lines) - (hunk.end - hunk.start)
        return None

    def char_offset(self, old_line: int) -> int:
        """Characters of the old text before 0-based line ``old_line``."""
        return self._line_starts[old_line]

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0, *itertools.accumulate(len(line) for line in self.old_lines)]


def line_diff(old: str, new: str) -> LineDiff:
    """The line-level changes that turn ``old`` into ``new``."""
    old_lines = tuple(split_lines(old))
    new_lines = tuple(split_lines(new))
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    hunks = []
    equal_runs = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            equal_runs.append((i1, j1, i2 - i1))
        else:
            hunks.append(Hunk(i1, i2, new_lines[j1:j2]))
    return LineDiff(old_lines, new_lines, tuple(hunks), tuple(equal_runs))
