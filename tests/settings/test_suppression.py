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
    found = parse_suppressions(["x = 1  # gradsafe: ignore-file[GS1]"])
    assert list(found) == [0] and found[0].codes == ("GS1",) and found[0].whole_file


def test_ignore_file_in_a_string_is_not_a_comment() -> None:
    source = 's = "# gradsafe: ignore-file"\ny.mul_(2)\n'
    assert kept(source, finding("GS101", 2)) == [("GS101", 2)]


ALL = frozenset({"GS101", "GS102", "GS201", "GS205", "GS501", "GS801", "GS802"})


def reported(source: str, *findings: Finding, active: frozenset[str] = ALL) -> list[tuple[str, int]]:
    out = filter_suppressed(findings, SourceFile.from_text(source), active)
    return sorted((f.code, f.span.line) for f in out)


def test_an_unknown_code_in_a_suppression_is_reported() -> None:
    source = "y.mul_(2)  # gradsafe: ignore[GS999]\nz = 1  # noqa: GS0, F401\n# gradsafe: ignore-file[GS2, GS1234]\n"
    assert reported(source, active=frozenset({"GS802"})) == [("GS802", 1), ("GS802", 2), ("GS802", 3)]
    (unknown,) = filter_suppressed([], SourceFile.from_text("x  # gradsafe: ignore[GS101, gs999]\n"), {"GS802"})
    assert "`GS999`" in unknown.message and "GS101" not in unknown.message
    assert unknown.span.col == 3


def test_known_codes_and_prefixes_and_other_tools_codes_are_not_unknown() -> None:
    source = "a  # gradsafe: ignore[GS1, GS205, gs]\nb  # noqa: E501, GS5\nc  # gradsafe: ignore\n"
    assert reported(source, active=frozenset({"GS802"})) == []


def test_unknown_codes_are_not_reported_unless_selected() -> None:
    assert reported("y.mul_(2)  # gradsafe: ignore[GS999]\n", active=frozenset({"GS101"})) == []


def test_a_suppression_that_silences_nothing_is_reported_when_selected() -> None:
    source = "a  # gradsafe: ignore[GS101]\nb  # noqa: GS2\nc  # gradsafe: ignore\nd  # gradsafe: ignore[GS101]\n"
    found = (finding("GS101", 4),)
    assert reported(source, *found) == [("GS801", 1), ("GS801", 2), ("GS801", 3)]
    assert reported(source, *found, active=ALL - {"GS801"}) == []  # off unless selected


def test_a_used_suppression_is_not_reported_and_only_the_idle_codes_are_named() -> None:
    source = "a  # gradsafe: ignore[GS101, GS201]\nb  # gradsafe: ignore\n"
    out = filter_suppressed([finding("GS101", 1), finding("GS205", 2)], SourceFile.from_text(source), ALL)
    (unused,) = out
    assert (unused.code, unused.span.line) == ("GS801", 1)
    assert "`GS201`" in unused.message and "GS101" not in unused.message


def test_a_code_not_selected_for_the_file_is_not_unused() -> None:
    """`GS901` outside --policy strict: the comment may be needed under another configuration."""
    source = "a  # gradsafe: ignore[GS901]\nb  # noqa: GS5\n"
    assert reported(source, active=frozenset({"GS801", "GS101"})) == []


def test_an_unused_ignore_file_is_reported_on_its_own_line() -> None:
    source = "# gradsafe: ignore-file[GS2]\n# gradsafe: ignore-file[GS1]\ny.mul_(2)\n"
    assert reported(source, finding("GS101", 3)) == [("GS801", 1)]
    assert reported("# gradsafe: ignore-file\nx = 1\n") == [("GS801", 1)]
    assert reported("# gradsafe: ignore-file\ny.mul_(2)\n", finding("GS205", 2)) == []
