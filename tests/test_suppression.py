"""Inline suppression comments."""

from __future__ import annotations

from gradsafe.findings import Finding, Span
from gradsafe.files.source import SourceFile, split_lines
from gradsafe.settings.suppression import filter_suppressed, parse_suppressions


def finding(code: str, line: int, end_line: int | None = None) -> Finding:
    return Finding(code, "m", Span(line, 0, end_line or line, 5))


def kept(source: str, *findings: Finding) -> list[tuple[str, int]]:
    return [(f.code, f.span.line) for f in filter_suppressed(findings, SourceFile.from_text(source))]


def test_bare_ignore_suppresses_every_code_on_its_line() -> None:
    source = "y.mul_(2)  # gradsafe: ignore\ny.mul_(3)\n"
    assert kept(source, finding("GS101", 1), finding("GS201", 1), finding("GS101", 2)) == [("GS101", 2)]


def test_codes_and_prefixes_in_brackets() -> None:
    source = "a  # gradsafe: ignore[GS101, gs2]\n"
    assert kept(source, finding("GS101", 1), finding("GS102", 1), finding("GS205", 1)) == [("GS102", 1)]


def test_on_the_last_line_of_a_multi_line_finding() -> None:
    source = "y.mul_(\n    2)  # gradsafe: ignore[GS101]\n"
    assert kept(source, finding("GS101", 1, 2)) == []


def test_a_middle_line_does_not_suppress() -> None:
    source = "f(\n  x,  # gradsafe: ignore\n  y)\n"
    assert kept(source, finding("GS101", 1, 3)) == [("GS101", 1)]


def test_text_in_a_string_is_not_a_comment() -> None:
    source = 'y.mul_(2); s = "# gradsafe: ignore"\n'
    assert kept(source, finding("GS101", 1)) == [("GS101", 1)]
    assert parse_suppressions(split_lines(source)) == {}


def test_marker_among_other_comments_and_case() -> None:
    source = "y.mul_(2)  # noqa: E501  # Gradsafe: Ignore[GS101]\n"
    assert kept(source, finding("GS101", 1)) == []


def test_empty_brackets_and_other_words_suppress_nothing() -> None:
    source = "a  # gradsafe: ignore[]\nb  # gradsafe: ignored\nc  # gradsafe: check\n"
    assert kept(source, finding("GS101", 1), finding("GS101", 2), finding("GS101", 3)) == [
        ("GS101", 1),
        ("GS101", 2),
        ("GS101", 3),
    ]


def test_crlf_lines() -> None:
    source = "y.mul_(2)  # gradsafe: ignore\r\nz.mul_(2)\r\n"
    assert kept(source, finding("GS101", 1), finding("GS101", 2)) == [("GS101", 2)]
