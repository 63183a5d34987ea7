"""The closing line names what it counts: hazards, and suppression warnings apart from them."""

from __future__ import annotations

import io

from gradsafe.findings import Finding, Span
from gradsafe.report import Command, RenderOptions, Report, get_formatter
from gradsafe.results import FileResult


def finding(line: int, code: str) -> Finding:
    return Finding(code=code, message="m", span=Span(line, 0, line, 5), scope="f")


def summary(command: Command, findings: list[Finding]) -> str:
    stream = io.StringIO()
    get_formatter("text")(Report(command, [FileResult("a.py", findings=findings)]), stream, RenderOptions())
    return stream.getvalue().splitlines()[-1] if command is Command.CHECK else stream.getvalue()


def test_hazards_alone() -> None:
    assert summary(Command.CHECK, [finding(1, "GS101"), finding(2, "GS201")]) == "Found 2 hazards in 1 file."


def test_a_suppression_warning_is_not_a_hazard() -> None:
    assert summary(Command.CHECK, [finding(1, "GS802")]) == "Found 1 suppression warning in 1 file."


def test_both_kinds_are_counted_apart() -> None:
    found = [finding(1, "GS101"), finding(3, "GS801"), finding(2, "GS802")]
    assert summary(Command.CHECK, found) == "Found 1 hazard and 2 suppression warnings in 1 file."
    assert "1 hazard and 2 suppression warnings remain in 1 file" in summary(Command.DIFF, found)
