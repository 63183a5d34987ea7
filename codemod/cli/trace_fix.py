"""``trace --fix``: account for every hazard the traced run hit, fixed or not, and say why not.

The traced hazards are handed to the fix loop as *confirmed* lines, but the analysis may still find
no rewrite for one (a write it cannot see, such as ``getattr(t, "add_")(k)``), verification may
reject its rewrite, or a pass may decline it.  Each traced hazard therefore ends as fixed (a fix
at its line, or at the call site that passed the tensor to the helper that wrote it) or as one line
saying why it was not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from gradsafe.files.paths import display_path
from gradsafe.report.text import fix_note, location
from gradsafe.results import FileResult

if TYPE_CHECKING:
    from pathlib import Path

    from gradsafe.trace import TraceResult

NO_FINDING = (
    "the analysis found no hazard to rewrite at this line (a write it cannot follow statically); "
    "fix it by hand, e.g. compute a new tensor instead of writing into this one"
)


@dataclass(frozen=True)
class Unfixed:
    """A traced hazard that remains after ``trace --fix``, and why."""

    display: str
    line: int
    col: int
    code: str
    reason: str

    def describe(self) -> str:
        return f"{location(self.display, self.line, self.col)}: {self.code} traced hazard not fixed: {self.reason}"


def unfixed_hazards(traced: TraceResult, project: Path, results: list[FileResult]) -> list[Unfixed]:
    """The traced hazards that no applied fix resolved, each with its reason, in path-then-line order."""
    by_path = {os.path.abspath(result.display): result for result in results}
    fixed_lines = {(path, f.span.line) for path, result in by_path.items() for f in result.fixed}
    unfixed: list[Unfixed] = []
    for found in traced.findings:
        path = os.path.abspath(project / found.path)
        line = found.finding.span.line
        callers = [(os.path.abspath(c.path), c.line) for c in getattr(found.event, "callers", ())[:1]]
        if (path, line) in fixed_lines or any(site in fixed_lines for site in callers):
            continue
        result = by_path.get(path)
        unfixed.append(
            Unfixed(
                display_path(project / found.path),
                line,
                found.finding.span.col,
                found.finding.code,
                _reason(result, line, found.finding.code),
            )
        )
    return sorted(unfixed, key=lambda u: (u.display, u.line, u.col, u.code))


def _reason(result: FileResult | None, line: int, code: str) -> str:
    """Why the hazard at ``line`` was not fixed: what the report says of a remaining finding there."""
    if result is None:
        return NO_FINDING
    errors = [e for e in result.errors if e.code.startswith("E")]
    if errors:
        return f"the file could not be processed ({errors[0].code} {errors[0].message})"
    at_line = [f for f in result.findings if f.span.line == line]
    matching = [f for f in at_line if f.code == code] or at_line
    if not matching:
        return NO_FINDING
    return fix_note(result, matching[0], after_fixing=True).removeprefix("no fix: ")


def report_unfixed(unfixed: list[Unfixed], total: int, stream: TextIO) -> None:
    """One line per traced hazard that remains, then how many of the traced hazards were fixed."""
    for item in unfixed:
        stream.write(item.describe() + "\n")
    stream.write(f"{total - len(unfixed)} of {total} traced hazards fixed.\n")
