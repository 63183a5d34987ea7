"""Line diffs of a rewrite, and which findings of the file as read the rewrite resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradsafe.settings.config import Overrides, load_settings
from gradsafe.findings import Finding, Span
from gradsafe.fix.hunks import Hunk, line_diff
from gradsafe.run.pipeline import process_source
from gradsafe.fix.resolution import resolved_findings
from gradsafe.files.source import SourceFile

OLD = "a\nb\nc\nd\ne\n"


def test_hunks_cover_replacements_insertions_and_deletions() -> None:
    diff = line_diff(OLD, "a\nB\nc\nnew\nd\n")
    assert diff.hunks == (Hunk(1, 2, ("B\n",)), Hunk(3, 3, ("new\n",)), Hunk(4, 5, ()))
    assert [diff.old_line(n) for n in range(1, 6)] == [1, None, 3, None, 4]
    assert diff.hunk_at(4) == Hunk(3, 3, ("new\n",))
    assert diff.hunk_at(3) is None


def test_character_offsets_count_line_endings_and_characters() -> None:
    diff = line_diff("é\r\nxy\r\nz", "é\r\nXY\r\nz")
    (hunk,) = diff.hunks
    assert (hunk.start, hunk.end, hunk.new_text) == (1, 2, "XY\r\n")
    assert diff.char_offset(1) == 3 and diff.char_offset(2) == 7


def finding(line: int, code: str = "GS101", scope: str = "f", col: int = 4) -> Finding:
    return Finding(code, f"at {line}", Span(line, col, line, col + 5), scope=scope)


def test_a_finding_on_moved_but_unchanged_lines_survives() -> None:
    old = "def f(y):\n    y.add_(1)\n    z = 1\n    y.mul_(2)\n"
    new = "def f(y):\n    y = y.add(1)\n    y = y.clone()\n    z = 1\n    y.mul_(2)\n"
    fixed, moved = finding(2), finding(4)
    assert resolved_findings([fixed, moved], [finding(5)], line_diff(old, new)) == [fixed]


def test_a_finding_still_on_a_changed_line_is_not_counted_as_resolved() -> None:
    old = "def f(y):\n    y.add_(1); y.mul_(2)\n"
    new = "def f(y):\n    y = y.add(1); y.mul_(2)\n"
    first, second = finding(2, col=4), finding(2, col=15)
    # The remaining finding's line changed, so it may stand for either old finding: neither is resolved.
    assert resolved_findings([first, second], [finding(2, col=18)], line_diff(old, new)) == []


def test_survival_needs_the_same_code_and_scope() -> None:
    old = "x\ny\n"
    new = "x\ny\n"
    other_scope = finding(2, scope="g")
    other_code = finding(2, code="GS102")
    assert resolved_findings([finding(2)], [other_scope, other_code], line_diff(old, new)) == [finding(2)]


@pytest.mark.usefixtures("fake_engine")
@pytest.mark.parametrize("preview", [False, True])
def test_pipeline_records_what_the_rewrite_resolved(tmp_path: Path, preview: bool) -> None:
    settings = load_settings([tmp_path], Overrides(), isolated=True)
    text = "def f(y):\n    y.add_(1)\n    y.add_(2)\n\ndef g(y):\n    y.add_(3)  # decline\n"
    result = process_source(
        SourceFile.from_text(text, tmp_path / "m.py", "m.py"), settings, fix=not preview, preview=preview
    )
    assert result.edit is not None and "y = y.add(1)" in result.edit.new_text
    # One fix resolves both findings of f: after `y = y.add(1)`, `y.add_(2)` writes a fresh tensor.
    assert len(result.applied) == 1
    assert [(f.span.line, f.scope) for f in result.fixed] == [(2, "f"), (3, "f")]
    # g's fix is declined, so its finding stays; a preview keeps the findings of the file as read.
    assert [f.span.line for f in result.findings] == ([2, 3, 6] if preview else [6])
