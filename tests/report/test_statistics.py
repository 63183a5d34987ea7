"""``--statistics`` (counts per rule), ``--show-fixes`` (the fix of each finding, or why none), and
per-file ignores by code prefix, on real findings."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from helpers.report_repo import invoke, make_repo, pin_passes

import gradsafe.fix.loop
from gradsafe.findings import Finding, Fix, FixKind, Span
from gradsafe.results import FileResult
from gradsafe.report import Command, RenderOptions, Report, get_formatter


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    pin_passes(monkeypatch)
    root = make_repo(tmp_path / "repo")
    (root / "broken.py").unlink()
    monkeypatch.chdir(root)
    return root


def table(output: str) -> list[list[str]]:
    """The statistics rows (without the header and the summary), split into cells."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] in (["COUNT", "CODE"], ["FIXED", "REMAINING"]))
    rows = []
    for line in lines[start + 1 :]:
        cells = line.split()
        if len(cells) != 4 or not cells[0].isdigit():  # the summary follows the table
            break
        rows.append(cells)
    return rows


def test_check_statistics_count_the_findings_per_rule(repo: Path) -> None:
    findings = json.loads(invoke("check", "--format", "json", ".").stdout)["findings"]
    result = invoke("check", "--statistics", ".")
    assert result.exit_code == 1
    rows = table(result.stdout)
    counts = Counter(f["code"] for f in findings)
    fixable = Counter(f["code"] for f in findings if f["fix"] and f["fix"]["applicable"])
    assert {row[1]: (int(row[0]), int(row[3])) for row in rows} == {c: (counts[c], fixable[c]) for c in counts}
    assert [row[1] for row in rows] == sorted(counts, key=lambda c: (-counts[c], c))
    assert result.stdout.splitlines()[-1].startswith(f"Found {len(findings)} hazards")
    assert not any(line.startswith("pkg/") for line in result.stdout.splitlines()), "no finding lines"
    assert invoke("check", "--statistics", "--quiet", ".").stdout.splitlines()[-1].split()[1] == rows[-1][1]


def test_fix_statistics_count_fixed_and_remaining(repo: Path) -> None:
    result = invoke("fix", "--no-verify", "--statistics", ".")
    rows = {row[2]: (int(row[0]), int(row[1])) for row in table(result.stdout)}
    assert rows["GS102"] == (1, 0)  # pkg/saved_input.py: h.add_(1), which the pinned pass fixes
    assert rows["GS203"] == (0, 2)  # no pass for no-grad fixes
    assert "1 fix applied in 1 file." in result.stdout


def test_per_file_ignores_and_selection_accept_prefixes(repo: Path) -> None:
    def codes(*args: str) -> set[str]:
        return {f["code"] for f in json.loads(invoke("check", "--format", "json", *args, ".").stdout)["findings"]}

    everything = codes()
    assert {"GS101", "GS102", "GS202", "GS203", "GS502"} <= everything
    assert codes("--select", "GS1") == {"GS101", "GS102"}
    assert codes("--ignore", "GS2,GS5") == {"GS101", "GS102"}
    (repo / "pyproject.toml").write_text('[tool.gradsafe.per-file-ignores]\n"pkg/**" = ["GS2", "GS10"]\n')
    assert codes() == {"GS502"}  # only `models dir/` keeps its findings


def test_show_fixes_on_check(repo: Path) -> None:
    lines = invoke("check", "--show-fixes", ".").stdout.splitlines()
    findings = [i for i, line in enumerate(lines) if ": GS" in line]
    assert findings and all(lines[i + 1].startswith("    ") for i in findings)
    notes = {lines[i].split(": ")[0]: lines[i + 1].strip() for i in findings}
    assert notes["pkg/saved_input.py:13:9"] == "fix: rewrite `h.add_(...)` as `h = h.add(...)` (out-of-place, safe)"
    assert notes["pkg/ema.py:9:9"] == "no fix: this version of gradsafe has no rewrite pass for `no-grad` fixes yet"


def test_show_fixes_on_fix_lists_what_was_fixed_and_why_the_rest_remains(repo: Path) -> None:
    (repo / "pkg" / "augassign.py").unlink()
    original = (repo / "pkg" / "saved_input.py").read_text()
    (repo / "pkg" / "declined.py").write_text(original.replace("# expect: GS102", "# decline"))
    output = invoke("fix", "--no-verify", "--show-fixes", ".").stdout
    assert "pkg/saved_input.py:13:9: GS102 fixed: rewrite `h.add_(...)` as `h = h.add(...)`\n" in output
    assert "pkg/declined.py:13:9: GS102 `h.add_(1)` overwrites" in output
    assert "    no fix: the fix was declined: asked to decline\n" in output


def test_statistics_and_show_fixes_are_for_text(repo: Path) -> None:
    for args in (
        ["--statistics", "--format", "json"],
        ["--show-fixes", "--format", "sarif"],
        ["--statistics", "--show-fixes"],
    ):
        result = invoke("check", *args, ".")
        assert result.exit_code == 2 and result.stderr.startswith("gradsafe: error: "), args


def test_show_fixes_names_the_verification_verdict(monkeypatch) -> None:
    monkeypatch.setattr(gradsafe.fix.loop, "pass_kinds", lambda: frozenset({FixKind.NO_GRAD}))

    def finding(line: int, scope: str, description: str) -> Finding:
        span = Span(line, 0, line, 2)
        return Finding("GS203", "update", span, fix=Fix(FixKind.NO_GRAD, span, description), scope=scope)

    result = FileResult(
        "a.py",
        findings=[finding(2, "step", "wrap")],
        fixed=[finding(5, "other_step", "wrap it")],
        verdicts={"step": "rejected", "other_step": "verified"},
        verdict_details={"step": "grad of p differs: max abs 0.5 at [0]"},
    )
    stream = io.StringIO()
    get_formatter("text")(Report(Command.FIX, [result]), stream, RenderOptions(show_fixes=True))
    assert stream.getvalue().splitlines()[:3] == [
        "a.py:2:1: GS203 update (verification: rejected)",
        "    no fix: verification rejected the rewrite: grad of p differs: max abs 0.5 at [0]",
        "a.py:5:1: GS203 fixed: wrap it (verification: verified)",
    ]
