"""The default report: one ``path:line:col: CODE message`` line per finding, then a summary.

Columns are 1-based.  Lines are sorted by path, then position, so the output of two runs is
identical.  When verification ran, a finding's line ends with the verdict on its function
(``(verification: rejected)``).  Files that could not be processed appear in the same shape
(``E902``, ``E999``, ``E001``), at their position when they have one and at ``1:1`` otherwise.
Colour is used only when ``RenderOptions.color`` is set (the command line sets it for terminals).

``--show-fixes`` adds, under each finding, the fix it gets or why it gets none, and for ``diff``
and ``fix`` lists the findings the rewrite resolved (at their positions in the file as read).
``--statistics`` replaces the finding lines with a table of counts per rule.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TextIO

from gradsafe.errors import FileError
from gradsafe.findings import Finding
from gradsafe.results import FileResult
from gradsafe.report import Command, RenderOptions, Report
from gradsafe.fix.loop import is_fixable
from gradsafe.rules import get_rule

FINDING, ERROR, NOTE, FIX, TABLE = "finding", "error", "note", "fix", "table"


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"


def counted(findings: list[Finding]) -> str:
    """How many findings of each kind: ``2 hazards``, ``1 hazard and 1 suppression warning``."""
    counts: dict[tuple[str, str], int] = {}
    for finding in findings:
        rule = get_rule(finding.code)
        noun = rule.noun if rule is not None else ("hazard", "hazards")
        counts[noun] = counts.get(noun, 0) + 1
    if not counts:
        return plural(0, "hazard")
    parts = [plural(count, singular, many) for (singular, many), count in counts.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def location(path: str, line: int, col: int) -> str:
    """``path:line:col`` with a 1-based column, from a 0-based one."""
    return f"{path}:{line}:{col + 1}"


SAFE_FIX_MARK = "[*]"  # ruff's mark: `gradsafe fix` applies this finding's fix
UNSAFE_FIX_MARK = "[unsafe fix]"  # applied only with `--unsafe-fixes`: it changes what the code computes


def fix_mark(finding: Finding) -> str:
    """The mark ``check`` puts after a finding's code: its fix is safe, unsafe, or there is none ("")."""
    if finding.fix is None or not is_fixable(finding):
        return ""
    return UNSAFE_FIX_MARK if finding.fix.unsafe else SAFE_FIX_MARK


def finding_line(path: str, finding: Finding, verdict: str | None = None, *, mark: str = "") -> str:
    """``path:line:col: CODE [mark] message``, and the verification verdict of the finding's function, if any."""
    span = finding.span
    code = f"{finding.code} {mark}" if mark else finding.code
    text = f"{location(path, span.line, span.col)}: {code} {finding.message}"
    return text if verdict is None else f"{text} (verification: {verdict})"


def error_line(error: FileError) -> str:
    return f"{location(error.path, error.line or 1, error.col or 0)}: {error.code} {error.message}"


def fix_note(result: FileResult, finding: Finding, *, after_fixing: bool, unsafe_fixes: bool = False) -> str:
    """What ``--show-fixes`` says under a listed finding: its fix, or why it has none.

    ``after_fixing``: the finding is one that remains after the fixes were applied (``diff``,
    ``fix``), so its fix, if it has one, was not applied; ``unsafe_fixes``: unsafe fixes were
    applied too (else an unsafe fix remains because it was only offered).
    """
    fix = finding.fix
    if fix is None:
        return f"no fix: {finding.unfixable_reason or 'gradsafe has no automatic fix for this'}"
    if not is_fixable(finding):
        return f"no fix: this version of gradsafe has no rewrite pass for `{fix.kind.value}` fixes yet"
    if after_fixing and fix.unsafe and not unsafe_fixes:
        return f"no fix: unsafe fix ({fix.description}), applied only with `--unsafe-fixes`"
    if after_fixing:
        from gradsafe.verify.verdicts import Verdict  # here: `check` need not load the verify package

        verdict = result.verdict(finding)
        if verdict is not None and not Verdict(verdict).emit_by_default:
            detail = result.verdict_detail(finding)
            return f"no fix: verification {verdict} the rewrite" + (f": {detail}" if detail else "")
        reason = result.declined_reason(finding)
        return f"no fix: the fix was declined: {reason}" if reason else "no fix: the fix was not applied"
    unsafe = ", unsafe: applied only with `--unsafe-fixes`" if fix.unsafe else ""
    return f"fix: {fix.description} ({fix.kind.value}, {fix.safety.value}{unsafe})"


def fixed_line(path: str, result: FileResult, finding: Finding) -> str:
    how = finding.fix.description if finding.fix is not None else "resolved by the other fixes in the file"
    span = finding.span
    text = f"{location(path, span.line, span.col)}: {finding.code} fixed: {how}"
    verdict = result.verdict(finding)
    return text if verdict is None else f"{text} (verification: {verdict})"


def remaining_reasons(report: Report) -> list[str]:
    """One line per hazard that ``diff`` / ``fix`` left in place: where, and why it was not fixed."""
    lines: list[str] = []
    for result in report.results:
        for finding in sorted(result.findings, key=lambda f: f.sort_key):
            span = finding.span
            why = fix_note(result, finding, after_fixing=True, unsafe_fixes=report.unsafe_fixes).removeprefix("no fix: ")
            lines.append(f"  {location(result.display, span.line, span.col)}: {finding.code} not fixed: {why}")
    return lines


def summary_lines(report: Report, *, reasons: bool = False) -> list[str]:
    """The closing lines; with ``reasons`` (``diff``/``fix`` without ``--show-fixes``), under the count of
    remaining hazards, one line per hazard saying why it was not fixed."""
    lines: list[str] = []
    found = report.finding_count
    what = counted([f for r in report.results for f in sorted(r.findings, key=lambda f: f.sort_key)])
    in_files = plural(report.files_with_findings, "file")
    if report.command is Command.TRACE:
        if found:
            lines.append(f"The traced run hit {plural(found, 'hazard')} in {in_files}.")
        else:
            lines.append("No hazard happened in the traced run.")
    elif report.command is Command.CHECK:
        if found:
            fixable = report.fixable_count
            suffix = f" ({fixable} fixable with `gradsafe fix`)" if fixable else ""
            lines.append(f"Found {what} in {in_files}{suffix}.")
            lines += _unsafe_available(report)
        else:
            lines.append(f"No hazards found ({plural(report.files_processed, 'file')} checked).")
    else:
        verb = "applied" if report.command is Command.FIX else "would be applied"
        lines.append(
            f"{plural(report.applied_count, 'fix', 'fixes')} {verb} in {plural(report.files_changed, 'file')}."
        )
        if found:
            verb_remain = "remains" if found == 1 else "remain"
            lines.append(f"{what} {verb_remain} in {in_files}" + (":" if reasons else "."))
            if reasons:
                lines += remaining_reasons(report)
            lines += _unsafe_available(report)
    if report.files_failed:
        lines.append(f"{plural(report.files_failed, 'file')} could not be processed.")
    return lines


def _unsafe_available(report: Report) -> list[str]:
    """ruff's hint: how many fixes only ``--unsafe-fixes`` applies (they change what the code computes)."""
    count = report.unsafe_available_count
    if not count:
        return []
    return [f"{plural(count, 'unsafe fix', 'unsafe fixes')} available with `--unsafe-fixes` (they change what the code computes)."]


def diagnostics(report: Report, options: RenderOptions) -> list[tuple[str, str]]:
    """(line, style) pairs in path-then-position order: findings (not with ``statistics``, and for
    `diff`, whose output is the patch, only with ``show_fixes``), errors, with ``show_fixes`` the
    fixes, and with ``verbose`` the fixes a pass declined."""
    lines: list[tuple[str, str]] = []
    list_findings = not options.statistics and (report.command is not Command.DIFF or options.show_fixes)
    for result in report.results:
        path = result.display
        entries: list[tuple[tuple[int, int, str], str, str]] = []
        if list_findings:
            for finding in result.findings:
                mark = fix_mark(finding) if report.command is Command.CHECK else ""
                text = finding_line(path, finding, result.verdict(finding), mark=mark)
                if options.show_fixes:
                    after = report.command is not Command.CHECK
                    text += "\n    " + fix_note(result, finding, after_fixing=after, unsafe_fixes=report.unsafe_fixes)
                entries.append((finding.sort_key, text, FINDING))
        if options.show_fixes and not options.statistics:
            entries += [(f.sort_key, fixed_line(path, result, f), FIX) for f in result.fixed]
        for error in result.errors:
            text = error_line(error)
            if options.verbose and error.detail:
                text += "\n" + error.detail.rstrip("\n")
            entries.append(((error.line or 0, error.col or 0, error.code), text, ERROR))
        if options.verbose:
            for declined in result.declined:
                span = declined.finding.span
                text = f"{location(path, span.line, span.col)}: {declined.finding.code} fix declined: {declined.reason}"
                entries.append((declined.finding.sort_key, text, NOTE))
        lines += [(text, style) for _, text, style in sorted(entries, key=lambda e: e[0])]
    return lines


def statistics_lines(report: Report) -> list[str]:
    """The ``--statistics`` table: one row per rule, most frequent first."""
    counts = report.rule_counts()
    if not counts:
        return []
    if report.command is Command.CHECK:
        header = ("COUNT", "CODE", "NAME", "FIXABLE")
        rows = [(str(c.count), c.code, _rule_name(c.code), str(c.fixable)) for c in counts]
        numeric = {0, 3}
    else:
        header = ("FIXED", "REMAINING", "CODE", "NAME")
        rows = [(str(c.fixed), str(c.count), c.code, _rule_name(c.code)) for c in counts]
        numeric = {0, 1}
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return [
        "  ".join(
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ]


def _rule_name(code: str) -> str:
    rule = get_rule(code)
    return rule.name if rule else ""


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    if options.verbose and report.command in (Command.DIFF, Command.FIX) and not options.statistics:
        options = replace(options, show_fixes=True)  # -v: the full detail of every finding and fix
    lines = diagnostics(report, options)
    if options.statistics:
        lines += [(text, TABLE) for text in statistics_lines(report)]
    summary = [] if options.quiet else summary_lines(report, reasons=not options.show_fixes and not options.statistics)
    if options.color:
        _render_color(lines, summary, stream)
        return
    for text, _ in lines:
        stream.write(text + "\n")
    for text in summary:
        stream.write(text + "\n")


_STYLES = {FINDING: "", ERROR: "bold red", NOTE: "dim", FIX: "green", TABLE: ""}


def _render_color(lines: list[tuple[str, str]], summary: list[str], stream: TextIO) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=True)
    for text, style in lines:
        if style == TABLE:
            console.print(Text(text))
            continue
        where, _, rest = text.partition(": ")
        console.print(Text.assemble((where, "bold"), ": ", (rest, _STYLES[style])))
    for text in summary:
        console.print(Text(text, style="bold"))
