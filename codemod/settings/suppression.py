"""Inline suppression: ``# gradsafe: ignore`` and ``# gradsafe: ignore[GS101, GS2]``.

A suppression comment on the first or last line of a finding's span silences it (and so its fix).
Codes in brackets may be prefixes (``GS2`` silences every GS2xx); without brackets every code is
silenced.

The marker must be a real comment, not text inside a string, so the lines that contain
``gradsafe:`` are run through ``tokenize`` - only those lines, one at a time, which keeps the cost
near zero; files without findings are not scanned at all.  A line that does not tokenize
on its own (the tail of a multi-line string) is treated as having no comment: such a marker
suppresses nothing, which errs towards reporting.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Iterable, Sequence

from gradsafe.findings import Finding
from gradsafe.files.source import SourceFile

MARKER = "gradsafe:"
_DIRECTIVE = re.compile(r"#\s*gradsafe:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class Suppression:
    line: int
    codes: tuple[str, ...] | None  # None: every code

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code.startswith(prefix) for prefix in self.codes)


def _comment_of(line: str) -> str | None:
    """The comment token of a single physical line, or None."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT:
                return token.string
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def parse_suppressions(lines: Sequence[str]) -> dict[int, Suppression]:
    """Suppressions by 1-based line number."""
    found: dict[int, Suppression] = {}
    for number, line in enumerate(lines, start=1):
        if MARKER not in line.lower():
            continue
        comment = _comment_of(line)
        match = _DIRECTIVE.search(comment) if comment else None
        if match is None:
            continue
        codes_text = match.group("codes")
        codes = None if codes_text is None else tuple(c.strip().upper() for c in codes_text.split(",") if c.strip())
        found[number] = Suppression(number, codes)
    return found


def filter_suppressed(findings: Iterable[Finding], source: SourceFile) -> list[Finding]:
    """``findings`` without those a suppression comment on their first or last line covers."""
    findings = list(findings)
    if not findings:
        return findings  # without touching `source.lines`, which costs a pass over the text
    suppressions = parse_suppressions(source.lines)
    if not suppressions:
        return findings
    kept = []
    for finding in findings:
        candidates = (suppressions.get(finding.span.line), suppressions.get(finding.span.end_line))
        if not any(s is not None and s.covers(finding.code) for s in candidates):
            kept.append(finding)
    return kept
