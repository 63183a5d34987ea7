"""The default report: one ``path:line:col: CODE message`` line per finding, then a summary.

Columns are 1-based.  Lines are sorted by path, then position, so the output of two runs is
identical.  Files that could not be processed appear in the same shape (``E902``, ``E999``,
``E001``), at their position when they have one and at ``1:1`` otherwise.  Colour is used only
when ``RenderOptions.color`` is set (the command line sets it for terminals).
"""

from __future__ import annotations

from typing import TextIO

from codemod.errors import FileError
from codemod.findings import Finding
from codemod.report import Command, RenderOptions, Report


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"


def finding_line(path: str, finding: Finding) -> str:
    span = finding.span
    return f"{path}:{span.line}:{span.col + 1}: {finding.code} {finding.message}"


def error_line(error: FileError) -> str:
    return f"{error.path}:{error.line or 1}:{(error.col or 0) + 1}: {error.code} {error.message}"


def summary_lines(report: Report) -> list[str]:
    lines: list[str] = []
    found = report.finding_count
    in_files = plural(report.files_with_findings, "file")
    if report.command is Command.CHECK:
        if found:
            fixable = report.fixable_count
            suffix = f" ({fixable} fixable with `gradsafe fix`)" if fixable else ""
            lines.append(f"Found {plural(found, 'hazard')} in {in_files}{suffix}.")
        else:
            lines.append(f"No hazards found ({plural(report.files_processed, 'file')} checked).")
    else:
        verb = "applied" if report.command is Command.FIX else "would be applied"
        lines.append(
            f"{plural(report.applied_count, 'fix', 'fixes')} {verb} in {plural(report.files_changed, 'file')}."
        )
        if found:
            verb_remain = "remains" if found == 1 else "remain"
            lines.append(f"{plural(found, 'hazard')} {verb_remain} in {in_files}.")
    failed = len({e.path for e in report.errors()})
    if failed:
        lines.append(f"{plural(failed, 'file')} could not be processed.")
    return lines


def diagnostics(report: Report, options: RenderOptions) -> list[tuple[str, str]]:
    """(line, style) pairs in path-then-position order: findings (not for `diff`, whose output is
    the patch), errors, and with ``verbose`` the fixes a pass declined."""
    lines: list[tuple[str, str]] = []
    for result in report.results:
        entries: list[tuple[tuple, str, str]] = []
        if report.command is not Command.DIFF:
            entries += [(f.sort_key, finding_line(result.display, f), "finding") for f in result.findings]
        for error in result.errors:
            text = error_line(error)
            if options.verbose and error.detail:
                text += "\n" + error.detail.rstrip("\n")
            entries.append(((error.line or 0, error.col or 0, error.code), text, "error"))
        if options.verbose:
            for declined in result.declined:
                span = declined.finding.span
                text = f"{result.display}:{span.line}:{span.col + 1}: {declined.finding.code} fix declined: {declined.reason}"
                entries.append((declined.finding.sort_key, text, "note"))
        lines += [(text, style) for _, text, style in sorted(entries, key=lambda e: e[0])]
    return lines


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    lines = diagnostics(report, options)
    summary = [] if options.quiet else summary_lines(report)
    if options.color:
        _render_color(lines, summary, stream)
        return
    for text, _ in lines:
        stream.write(text + "\n")
    for text in summary:
        stream.write(text + "\n")


_STYLES = {"finding": "", "error": "bold red", "note": "dim"}


def _render_color(lines: list[tuple[str, str]], summary: list[str], stream: TextIO) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(file=stream, highlight=False, soft_wrap=True)
    for text, style in lines:
        location, _, rest = text.partition(": ")
        console.print(Text.assemble((location, "bold"), ": ", (rest, _STYLES[style])))
    for text in summary:
        console.print(Text(text, style="bold"))
