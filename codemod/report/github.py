"""``--format github``: GitHub Actions workflow commands, which the runner turns into annotations.

One line per finding and per file that could not be processed::

    ::error file=src/model.py,line=12,col=9,endLine=12,endColumn=18,title=GS101::`h.mul_(2)` overwrites ...

A finding whose function went through verification ends with its verdict, ``(verification:
rejected)``.  Positions follow the other formats (1-based lines and columns, end column just past the span);
paths are relative to the working directory, which in a workflow is the checkout root.  As in
the text format, ``diff`` lists no findings (its output is the patch), only errors.

Values are escaped as the runner unescapes them: ``%``, ``\\r`` and ``\\n`` in the message, and
additionally ``:`` and ``,`` in properties, where they would end the value.
"""

from __future__ import annotations

from typing import TextIO

from gradsafe.errors import FileError
from gradsafe.findings import Finding
from gradsafe.report import Command, RenderOptions, Report, severity


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, message: str, properties: dict[str, object]) -> str:
    listed = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{name} {listed}::{escape_data(message)}"


def finding_command(path: str, finding: Finding, verdict: str | None = None) -> str:
    span = finding.span
    message = finding.message if verdict is None else f"{finding.message} (verification: {verdict})"
    if finding.fix is not None and finding.fix.unsafe:
        message += " (unsafe fix: applied only with --unsafe-fixes)"
    return workflow_command(
        severity(finding.code),
        message,
        {
            "file": path,
            "line": span.line,
            "col": span.col + 1,
            "endLine": span.end_line,
            "endColumn": span.end_col + 1,
            "title": finding.code,
        },
    )


def error_command(error: FileError) -> str:
    position = {} if error.line is None else {"line": error.line, "col": (error.col or 0) + 1}
    return workflow_command("error", error.message, {"file": error.path, **position, "title": error.code})


def render(report: Report, stream: TextIO, options: RenderOptions) -> None:
    for result in report.results:
        entries = [((error.line or 0, error.col or 0, error.code), error_command(error)) for error in result.errors]
        if report.command is not Command.DIFF:
            entries += [(f.sort_key, finding_command(result.display, f, result.verdict(f))) for f in result.findings]
        for _, line in sorted(entries, key=lambda entry: entry[0]):
            stream.write(line + "\n")
