"""Inline suppression: ``# gradsafe: ignore``, ``# gradsafe: ignore[GS101, GS2]``, ``# noqa: GS101``,
and for a whole file ``# gradsafe: ignore-file`` / ``# gradsafe: ignore-file[GS2]``.

A suppression comment on the first or last line of a finding's span silences it (and so its fix).
Codes in brackets may be prefixes (``GS2`` silences every GS2xx); without brackets every code is
silenced.  ``# noqa: GS101, F401`` is honoured as flake8 and ruff users expect, for its ``GS``
codes only (the others belong to other tools).  A bare ``# noqa`` is *not* honoured: it is
written to quiet a linter's style complaint, and silencing a broken gradient as a side effect
would be the silent failure gradsafe exists to prevent.  ``ignore-file`` applies wherever its
comment is in the file, on a line of its own or not.

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

MARKERS = ("gradsafe:", "noqa")
_DIRECTIVE = re.compile(r"#\s*gradsafe:\s*ignore(?!-)\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_FILE_DIRECTIVE = re.compile(r"#\s*gradsafe:\s*ignore-file\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
# flake8's form: `# noqa: CODE, CODE` (a colon, then codes separated by commas or spaces).
_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
_GS_CODE = re.compile(r"GS[0-9]+")
FILE_LINE = 0  # the key of a file-level suppression in `parse_suppressions`' result


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


def _codes(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(c.strip().upper() for c in text.split(",") if c.strip())


def _merge(old: Suppression | None, new: Suppression) -> Suppression:
    if old is None:
        return new
    if old.codes is None or new.codes is None:
        return Suppression(new.line, None)
    return Suppression(new.line, old.codes + new.codes)


def _line_suppression(number: int, comment: str) -> Suppression | None:
    match = _DIRECTIVE.search(comment)
    found = Suppression(number, _codes(match.group("codes"))) if match else None
    noqa = _NOQA.search(comment)
    if noqa is not None:
        codes = tuple(c.upper() for c in re.split(r"[\s,]+", noqa.group("codes")) if _GS_CODE.fullmatch(c.upper()))
        if codes:
            found = _merge(found, Suppression(number, codes))
    return found


def parse_suppressions(lines: Sequence[str]) -> dict[int, Suppression]:
    """Suppressions by 1-based line number; a file-level one under ``FILE_LINE`` (0)."""
    found: dict[int, Suppression] = {}
    for number, line in enumerate(lines, start=1):
        lowered = line.lower()
        if not any(marker in lowered for marker in MARKERS):
            continue
        comment = _comment_of(line)
        if comment is None:
            continue
        whole_file = _FILE_DIRECTIVE.search(comment)
        if whole_file is not None:
            found[FILE_LINE] = _merge(found.get(FILE_LINE), Suppression(FILE_LINE, _codes(whole_file.group("codes"))))
        suppression = _line_suppression(number, comment)
        if suppression is not None:
            found[number] = suppression
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
        candidates = (
            suppressions.get(FILE_LINE),
            suppressions.get(finding.span.line),
            suppressions.get(finding.span.end_line),
        )
        if not any(s is not None and s.covers(finding.code) for s in candidates):
            kept.append(finding)
    return kept
