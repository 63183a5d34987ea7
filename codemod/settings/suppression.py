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

Two rules report on the comments themselves (``gradsafe.rules.suppression``), when selected:
GS802 (on by default) a code that names no rule, GS801 (off by default, as ruff's RUF100) a
suppression that silenced nothing.  Files without findings are scanned for them only when the
text mentions a marker at all.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from gradsafe.findings import Finding, Span
from gradsafe.files.source import SourceFile
from gradsafe.rules import all_rules
from gradsafe.rules.suppression import UNKNOWN_SUPPRESSION_CODE, UNUSED_SUPPRESSION

MARKERS = ("gradsafe:", "noqa")
_ANY_MARKER = re.compile(r"gradsafe:|noqa", re.IGNORECASE)
_DIRECTIVE = re.compile(r"#\s*gradsafe:\s*ignore(?!-)\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
_FILE_DIRECTIVE = re.compile(r"#\s*gradsafe:\s*ignore-file\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
# flake8's form: `noqa` after the `#`, a colon, then codes separated by commas or spaces.
_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)", re.IGNORECASE)
_GS_CODE = re.compile(r"GS[0-9]+")
RULES = (UNUSED_SUPPRESSION, UNKNOWN_SUPPRESSION_CODE)  # the rules reported here rather than by the analysis
FILE_LINE = 0  # the key of a file-level suppression in `parse_suppressions`' result


@dataclass(frozen=True)
class Suppression:
    line: int  # where the comment is
    codes: tuple[str, ...] | None  # None: every code
    col: int = 0  # the comment's column (characters)
    whole_file: bool = False

    def covers(self, code: str) -> bool:
        return self.codes is None or any(code.startswith(prefix) for prefix in self.codes)


def _comment_of(line: str) -> tuple[int, str] | None:
    """The column and text of the comment token of a single physical line, or None."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT:
                return token.start[1], token.string
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def _codes(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(c.strip().upper() for c in text.split(",") if c.strip())


def _merge(old: Suppression | None, new: Suppression) -> Suppression:
    if old is None:
        return new
    codes = None if old.codes is None or new.codes is None else old.codes + new.codes
    return Suppression(old.line, codes, old.col, old.whole_file)


def _line_suppression(number: int, col: int, comment: str) -> Suppression | None:
    match = _DIRECTIVE.search(comment)
    found = Suppression(number, _codes(match.group("codes")), col) if match else None
    noqa = _NOQA.search(comment)
    if noqa is not None:
        codes = tuple(c.upper() for c in re.split(r"[\s,]+", noqa.group("codes")) if _GS_CODE.fullmatch(c.upper()))
        if codes:
            found = _merge(found, Suppression(number, codes, col))
    return found


def parse_suppressions(lines: Sequence[str]) -> dict[int, Suppression]:
    """Suppressions by 1-based line number; the file-level one (all merged) under ``FILE_LINE`` (0)."""
    found: dict[int, Suppression] = {}
    for number, line in enumerate(lines, start=1):
        lowered = line.lower()
        if not any(marker in lowered for marker in MARKERS):
            continue
        comment = _comment_of(line)
        if comment is None:
            continue
        col, text = comment
        whole_file = _FILE_DIRECTIVE.search(text)
        if whole_file is not None:
            file_level = Suppression(number, _codes(whole_file.group("codes")), col, whole_file=True)
            found[FILE_LINE] = _merge(found.get(FILE_LINE), file_level)
        suppression = _line_suppression(number, col, text)
        if suppression is not None:
            found[number] = suppression
    return found


def _file_level(lines: Sequence[str]) -> list[Suppression]:
    """Every ``ignore-file`` comment on its own (``parse_suppressions`` merges them)."""
    own = []
    for number, line in enumerate(lines, start=1):
        if "ignore-file" in line.lower() and (comment := _comment_of(line)) is not None:
            match = _FILE_DIRECTIVE.search(comment[1])
            if match is not None:
                own.append(Suppression(number, _codes(match.group("codes")), comment[0], whole_file=True))
    return own


def filter_suppressed(findings: Iterable[Finding], source: SourceFile, active: Collection[str] = ()) -> list[Finding]:
    """``findings`` without those a suppression comment covers (on their first or last line, or
    file-wide), plus the findings on the comments themselves (GS801, GS802) when ``active`` (the
    codes selected for the file) has them."""
    findings = list(findings)
    reports = UNUSED_SUPPRESSION.code in active or UNKNOWN_SUPPRESSION_CODE.code in active
    if not findings and not (reports and _ANY_MARKER.search(source.text)):
        return findings  # without touching `source.lines`, which costs a pass over the text
    suppressions = parse_suppressions(source.lines)
    if not suppressions:
        return findings
    kept = []
    used: dict[Suppression, set[str]] = {}  # the codes each comment silenced
    for finding in findings:
        candidates = (
            suppressions.get(FILE_LINE),
            suppressions.get(finding.span.line),
            suppressions.get(finding.span.end_line),
        )
        covering = [s for s in candidates if s is not None and s.covers(finding.code)]
        for suppression in covering:
            used.setdefault(suppression, set()).add(finding.code)
        if not covering:
            kept.append(finding)
    if reports:
        comments = [s for number, s in suppressions.items() if number != FILE_LINE]
        file_wide = used.get(suppressions[FILE_LINE], set()) if FILE_LINE in suppressions else set()
        for own in _file_level(source.lines) if FILE_LINE in suppressions else []:
            comments.append(own)
            used[own] = {code for code in file_wide if own.covers(code)}
        kept += [f for s in comments for f in _comment_findings(s, used.get(s, set()), active, source)]
    return kept


def _known(code: str) -> bool:
    return any(rule.code.startswith(code) for rule in all_rules())


def _active(code: str, active: Collection[str]) -> bool:
    return any(selected.startswith(code) for selected in active)


def _comment_findings(s: Suppression, used: set[str], active: Collection[str], source: SourceFile) -> list[Finding]:
    """GS802 for each code of ``s`` that names no rule; GS801 when ``s`` silenced nothing it could."""
    line = source.lines[s.line - 1] if s.line <= len(source.lines) else ""
    span = Span(s.line, s.col, s.line, len(line.rstrip("\r\n")))
    directive = "`# gradsafe: ignore-file`" if s.whole_file else "suppression comment"
    out = []
    codes = s.codes or ()
    unknown = [c for c in codes if not _known(c)]
    if unknown and UNKNOWN_SUPPRESSION_CODE.code in active:
        names = ", ".join(f"`{c}`" for c in unknown)
        noun = "which is no gradsafe rule code" if len(unknown) == 1 else "which are no gradsafe rule codes"
        message = f"{directive} names {names}, {noun} nor prefix (see `gradsafe rules`)"
        out.append(Finding(UNKNOWN_SUPPRESSION_CODE.code, message, span))
    if UNUSED_SUPPRESSION.code in active:
        if s.codes is None:
            idle = not used
            what = "finding"
        else:
            codes_idle = [c for c in codes if _known(c) and _active(c, active) and not any(u.startswith(c) for u in used)]
            idle = bool(codes_idle)
            what = ", ".join(f"`{c}`" for c in codes_idle) + " finding"
        if idle:
            where = "in the file" if s.whole_file else "on its line"
            out.append(Finding(UNUSED_SUPPRESSION.code, f"unused {directive}: no {what} {where} to silence", span))
    return out
