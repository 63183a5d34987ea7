"""Text and JSON reports: format, order, summary, and the documented JSON schema."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from gradsafe.fix import loop as rewrite
from gradsafe.errors import FileError
from gradsafe.findings import Confidence, Finding, Fix, FixKind, FixSafety, Related, Span
from gradsafe.results import FileResult
from gradsafe.report import FORMATTERS, Command, RenderOptions, Report, get_formatter, sort_results

DOC = Path(__file__).resolve().parents[2] / "docs" / "json-output.md"


def finding(line: int, col: int, code: str = "GS101", fix: bool = True) -> Finding:
    span = Span(line, col, line, col + 9)
    return Finding(
        code=code,
        message=f"hazard at {line}",
        span=span,
        confidence=Confidence.POSSIBLE,
        related=(Related(Span(line - 1, 4, line - 1, 20), "saved here"),),
        fix=Fix(FixKind.OUT_OF_PLACE, span, "rebind", FixSafety.NEEDS_VERIFICATION) if fix else None,
        unfixable_reason=None if fix else "another live name",
        scope="Net.forward",
    )


@pytest.fixture
def results(monkeypatch) -> list[FileResult]:
    monkeypatch.setattr(rewrite, "pass_kinds", lambda: frozenset({FixKind.OUT_OF_PLACE}))
    return sort_results(
        [
            FileResult("b.py", findings=[finding(7, 4), finding(3, 0, fix=False)]),
            FileResult("a/z.py", findings=[finding(2, 8, "GS201")]),
            FileResult("bad.py", errors=[FileError("bad.py", "E999", "SyntaxError: invalid syntax", 4, 2)]),
            FileResult("clean.py"),
        ]
    )


def render(report: Report, fmt: str = "text", **options) -> str:
    stream = io.StringIO()
    get_formatter(fmt)(report, stream, RenderOptions(**options))
    return stream.getvalue()


def test_text_lines_sorted_with_one_based_columns_and_summary(results) -> None:
    assert render(Report(Command.CHECK, results)).splitlines() == [
        "a/z.py:2:9: GS201 [*] hazard at 2",
        "b.py:3:1: GS101 hazard at 3",
        "b.py:7:5: GS101 [*] hazard at 7",
        "bad.py:4:3: E999 SyntaxError: invalid syntax",
        "Found 3 hazards in 2 files (2 fixable with `gradsafe fix`).",
        "1 file could not be processed.",
    ]


def test_quiet_drops_the_summary(results) -> None:
    assert "Found" not in render(Report(Command.CHECK, results), quiet=True)


def test_clean_summary() -> None:
    assert (
        render(Report(Command.CHECK, [FileResult("a.py"), FileResult("b.py")]))
        == "No hazards found (2 files checked).\n"
    )


def test_singular_summary(results) -> None:
    report = Report(Command.CHECK, [FileResult("a.py", findings=[finding(1, 0, fix=False)])])
    assert render(report).splitlines()[-1] == "Found 1 hazard in 1 file."


def test_internal_error_traceback_only_when_verbose() -> None:
    error = FileError("a.py", "E001", "internal error", detail="Traceback (most recent call last):\n  boom\n")
    report = Report(Command.CHECK, [FileResult("a.py", errors=[error])])
    assert "Traceback" not in render(report)
    assert "Traceback (most recent call last):\n  boom" in render(report, verbose=True)


def test_fix_summary_and_remaining_findings() -> None:
    report = Report(Command.FIX, [FileResult("a.py", findings=[finding(1, 0, fix=False)])])
    lines = render(report).splitlines()
    assert lines == [
        "a.py:1:1: GS101 hazard at 1",
        "0 fixes applied in 0 files.",
        "1 hazard remains in 1 file:",
        "  a.py:1:1: GS101 not fixed: another live name",
    ]


def test_diff_report_lists_errors_but_not_findings(results) -> None:
    text = render(Report(Command.DIFF, results))
    listed = [line for line in text.splitlines() if not line.startswith("  ")]  # not the summary's reasons
    assert not any("GS101" in line for line in listed) and "E999" in text and "would be applied" in text
    assert "  b.py:3:1: GS101 not fixed: another live name" in text.splitlines()


def test_colour_output_keeps_the_text(results) -> None:
    plain = render(Report(Command.CHECK, results))
    coloured = render(Report(Command.CHECK, results), color=True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def documented_fields() -> dict[str, set[str]]:
    """Field names per '## Section' table of docs/json-output.md."""
    sections: dict[str, set[str]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            current = line[3:].strip().lower()
            sections[current] = set()
        elif current and line.startswith("| `"):
            cell = line.split("|")[1]
            sections[current].update(re.findall(r"`([a-z_]+)`", cell))
    return sections


def test_json_matches_the_documented_schema_exactly(results) -> None:
    document = json.loads(render(Report(Command.CHECK, results), "json"))
    documented = documented_fields()
    assert set(document) == documented["top level"]
    assert document["version"] == 1
    for item in document["findings"]:
        assert set(item) == documented["finding"]
        for related in item["related"]:
            assert set(related) == documented["related"]
        if item["fix"] is not None:
            assert set(item["fix"]) == documented["fix"]
    assert all(set(error) == documented["error"] for error in document["errors"])
    assert set(document["summary"]) == documented["summary"]


def test_json_values(results) -> None:
    document = json.loads(render(Report(Command.CHECK, results), "json"))
    first = document["findings"][0]
    assert first == {
        "path": "a/z.py",
        "line": 2,
        "column": 9,
        "end_line": 2,
        "end_column": 18,
        "code": "GS201",
        "name": "leaf-mutated",
        "message": "hazard at 2",
        "confidence": "possible",
        "fix": {
            "kind": "out-of-place",
            "description": "rebind",
            "safety": "needs-verification",
            "applicability": "safe",
            "applicable": True,
        },
        "unfixable_reason": None,
        "declined_reason": None,
        "related": [{"line": 1, "column": 5, "end_line": 1, "end_column": 21, "note": "saved here"}],
        "scope": "Net.forward",
        "verdict": None,
        "verdict_detail": None,
    }
    assert [(f["path"], f["line"]) for f in document["findings"]] == [("a/z.py", 2), ("b.py", 3), ("b.py", 7)]
    assert document["findings"][1]["fix"] is None
    assert document["errors"] == [
        {"path": "bad.py", "line": 4, "column": 3, "code": "E999", "message": "SyntaxError: invalid syntax"}
    ]
    assert document["summary"] == {
        "files": 4,
        "findings": 3,
        "fixable": 2,
        "unsafe_fixes_available": 0,
        "fixed": 0,
        "fixes_applied": 0,
        "files_changed": 0,
        "errors": 1,
    }


def test_documented_example_is_valid_json_with_the_documented_fields() -> None:
    example = DOC.read_text().split("```json", 1)[1].split("```", 1)[0]
    document = json.loads(example)
    documented = documented_fields()
    assert set(document) == documented["top level"]
    assert set(document["findings"][0]) == documented["finding"]


def test_formatter_registry() -> None:
    assert set(FORMATTERS) >= {"text", "json"}
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        get_formatter("xml")
