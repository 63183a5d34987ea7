"""Which findings of a file as read does its rewrite resolve?

The fix loop reports what it applied on intermediate texts, and one fix can make other findings
disappear (after ``y = y.mul(2)`` the next ``y.add_(1)`` writes a fresh tensor).  What a user
and a report care about is simpler: of the findings on the file as read, which ones are gone
from the rewritten file?  Those are *resolved*, whichever fix removed them, and they are the
findings that a report can attach the rewrite to (SARIF ``fixes``) or a verification verdict.

A finding *survives* when the rewritten file still has a finding of the same code in the same
scope at the same place.  "The same place" is decided through the line diff: a finding on
unchanged lines is mapped back to its old position and must match exactly; a finding that
touches a changed line is matched, conservatively, to every old finding of the same code and
scope that overlaps the old lines of that change.  So an uncertain case is counted as
surviving, never as resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

from gradsafe.findings import Finding, Span
from gradsafe.fix.hunks import LineDiff


@dataclass(frozen=True)
class _Region:
    """Old lines ``first``..``last`` (1-based, inclusive) that a surviving finding may stand for."""

    code: str
    scope: str
    first: int
    last: int

    def covers(self, finding: Finding) -> bool:
        return (
            finding.code == self.code
            and finding.scope == self.scope
            and finding.span.line <= self.last
            and finding.span.end_line >= self.first
        )


def resolved_findings(found: Sequence[Finding], remaining: Sequence[Finding], diff: LineDiff) -> list[Finding]:
    """The findings of ``found`` (on the old text) that have no counterpart in ``remaining`` (new text)."""
    exact: set[tuple[str, str, Span]] = set()
    regions: list[_Region] = []
    for finding in remaining:
        span = finding.span
        first = diff.old_line(span.line)
        last = diff.old_line(span.end_line)
        if first is not None and last is not None and last - first == span.end_line - span.line:
            exact.add((finding.code, finding.scope, Span(first, span.col, last, span.end_col)))
            continue
        for line in range(span.line, span.end_line + 1):
            hunk = diff.hunk_at(line)
            if hunk is not None and hunk.end > hunk.start:
                regions.append(_Region(finding.code, finding.scope, hunk.start + 1, hunk.end))
            elif hunk is not None:
                # An insertion lies between two old lines: count both as its place.
                regions.append(_Region(finding.code, finding.scope, hunk.start, hunk.start + 1))
            else:
                old = diff.old_line(line)
                assert old is not None  # every new line is either unchanged or in a hunk
                regions.append(_Region(finding.code, finding.scope, old, old))
    return [
        finding
        for finding in found
        if (finding.code, finding.scope, finding.span) not in exact and not any(r.covers(finding) for r in regions)
    ]
