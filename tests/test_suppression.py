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


def test_noqa_with_gradsafe_codes_suppresses_them() -> None:
    source = "y.mul_(2)  # noqa: GS101\nz.mul_(2)  # noqa:F401,gs2\n"
    found = (finding("GS101", 1), finding("GS201", 1), finding("GS205", 2), finding("GS101", 2))
    assert kept(source, *found) == [("GS201", 1), ("GS101", 2)]


def test_noqa_codes_of_other_tools_and_bare_noqa_suppress_nothing() -> None:
    source = "y.mul_(2)  # noqa\nz.mul_(2)  # noqa: E501, F401\nw.mul_(2)  # noqa GS101\n"
    found = (finding("GS101", 1), finding("GS101", 2), finding("GS101", 3))
    assert kept(source, *found) == [("GS101", 1), ("GS101", 2), ("GS101", 3)]


def test_noqa_in_a_string_is_not_a_comment() -> None:
    assert kept('y.mul_(2); s = "# noqa: GS101"\n', finding("GS101", 1)) == [("GS101", 1)]


def test_ignore_file_silences_every_finding_of_the_file() -> None:
    source = "# gradsafe: ignore-file\ny.mul_(2)\nz.mul_(2)\n"
    assert kept(source, finding("GS101", 2), finding("GS201", 3)) == []


def test_ignore_file_with_codes_silences_those_codes_anywhere() -> None:
    source = "import torch\ny.mul_(2)\nz.mul_(2)\n# gradsafe: ignore-file[GS2, GS301]\n"
    found = (finding("GS101", 2), finding("GS201", 3), finding("GS301", 3), finding("GS302", 3))
    assert kept(source, *found) == [("GS101", 2), ("GS302", 3)]


def test_ignore_file_is_not_a_line_ignore_and_a_line_ignore_is_not_file_wide() -> None:
    source = "y.mul_(2)  # gradsafe: ignore\nz.mul_(2)\n"
    assert kept(source, finding("GS101", 1), finding("GS101", 2)) == [("GS101", 2)]
    assert parse_suppressions(["x = 1  # gradsafe: ignore-file[GS1]"]) == {0: parse_suppressions(["# gradsafe: ignore-file[GS1]"])[0]}
    assert 1 not in parse_suppressions(["x = 1  # gradsafe: ignore-file[GS1]"])


def test_ignore_file_in_a_string_is_not_a_comment() -> None:
    source = 's = "# gradsafe: ignore-file"\ny.mul_(2)\n'
    assert kept(source, finding("GS101", 2)) == [("GS101", 2)]
