"""``--format github``: workflow commands, with values escaped the way the Actions runner unescapes them."""

from __future__ import annotations

import io
import re

import pytest

from gradsafe.errors import FileError
from gradsafe.findings import Finding, Span
from gradsafe.results import FileResult
from gradsafe.report import Command, RenderOptions, Report, get_formatter
from gradsafe.report.github import escape_data, escape_property

# The runner's unescaping (actions/runner, ActionCommand): %0D, %0A everywhere, %3A and %2C in
# properties, and %25 last, so that an escaped "%0A" in the text survives as "%0A".
DATA_CODES = [("%0D", "\r"), ("%0A", "\n")]
PROPERTY_CODES = [*DATA_CODES, ("%3A", ":"), ("%2C", ",")]


def unescape(text: str, codes: list[tuple[str, str]]) -> str:
    for code, char in codes:
        text = text.replace(code, char)
    return text.replace("%25", "%")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """Split a workflow command as the runner does: ``::name key=value,key=value::message``."""
    match = re.fullmatch(r"::(\w+) (.*?)::(.*)", line)
    assert match is not None, line
    name, properties, message = match.groups()
    pairs = dict(item.split("=", 1) for item in properties.split(","))
    return name, {k: unescape(v, PROPERTY_CODES) for k, v in pairs.items()}, unescape(message, DATA_CODES)


def test_data_escaping() -> None:
    assert escape_data("100% sure\r\nnext: a, b") == "100%25 sure%0D%0Anext: a, b"
    assert escape_data("literal %0A") == "literal %250A"


def test_property_escaping() -> None:
    assert escape_property("dir:1,2/50%\n.py") == "dir%3A1%2C2/50%25%0A.py"


def render(report: Report) -> list[str]:
    stream = io.StringIO()
    get_formatter("github")(report, stream, RenderOptions())
    return stream.getvalue().splitlines()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("src/model.py", "`h.mul_(2)` overwrites `h`"),
        ("odd, name: 100%.py", "line one\nline two: 50% done, really\r\n%0A stays"),
    ],
)
def test_finding_round_trips_through_the_runner(path: str, message: str) -> None:
    finding = Finding("GS101", message, Span(12, 8, 12, 17))
    (line,) = render(Report(Command.CHECK, [FileResult(path, findings=[finding])]))
    assert "\n" not in line and "\r" not in line
    name, properties, text = parse(line)
    assert name == "error"
    assert properties == {
        "file": path,
        "line": "12",
        "col": "9",
        "endLine": "12",
        "endColumn": "18",
        "title": "GS101",
    }
    assert text == message


def test_policy_rules_are_warnings_and_errors_have_their_position_when_known() -> None:
    results = [
        FileResult("a.py", findings=[Finding("GS901", "in-place op", Span(3, 0, 3, 5))]),
        FileResult("b.py", errors=[FileError("b.py", "E999", "SyntaxError: invalid syntax", 2, 4)]),
        FileResult("c.py", errors=[FileError("c.py", "E902", "no such file or directory")]),
    ]
    lines = [parse(line) for line in render(Report(Command.CHECK, results))]
    assert lines == [
        (
            "warning",
            {"file": "a.py", "line": "3", "col": "1", "endLine": "3", "endColumn": "6", "title": "GS901"},
            "in-place op",
        ),
        ("error", {"file": "b.py", "line": "2", "col": "5", "title": "E999"}, "SyntaxError: invalid syntax"),
        ("error", {"file": "c.py", "title": "E902"}, "no such file or directory"),
    ]


def test_diff_annotates_errors_but_not_the_findings_it_leaves() -> None:
    results = [
        FileResult(
            "a.py",
            findings=[Finding("GS101", "remains", Span(1, 0, 1, 1))],
            errors=[FileError("a.py", "E001", "internal error")],
        )
    ]
    assert [parse(line)[1]["title"] for line in render(Report(Command.DIFF, results))] == ["E001"]


def test_the_verdict_is_part_of_the_message() -> None:
    result = FileResult(
        "a.py", findings=[Finding("GS101", "m", Span(1, 0, 1, 1), scope="f")], verdicts={"f": "rejected"}
    )
    assert parse(render(Report(Command.FIX, [result]))[0])[2] == "m (verification: rejected)"
