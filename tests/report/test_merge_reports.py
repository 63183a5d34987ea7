"""``gradsafe merge-reports``: the shards' reports merge into exactly what one unsharded run prints."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from helpers.report_repo import invoke, make_repo, pin_passes

from gradsafe.errors import FileError
from gradsafe.findings import Confidence, Finding, Fix, FixKind, FixSafety, Related, Span
from gradsafe.results import FileResult
from gradsafe.report import Command, RenderOptions, Report
from gradsafe.report.json import document, read_report, render

SHARDS = 3


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    pin_passes(monkeypatch)
    root = make_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


# diff/fix stay static here (no verification): these tests are about merging reports.
STATIC = {"diff": ("--no-verify",), "fix": ("--no-verify",)}


def shard_reports(command: str, report_format: str, *extra: str) -> list[str]:
    """Run ``command`` once per shard, each writing its report to a file; return the file names."""
    names = []
    for k in range(1, SHARDS + 1):
        name = f"{command}-shard{k}.{report_format}"
        args = [command, *STATIC.get(command, ()), "--shard", f"{k}/{SHARDS}", "--format", report_format, "--output", name, *extra]
        invoke(*args, "pkg", "models dir", "broken.py", "missing.py")
        names.append(name)
    return names


def unsharded(command: str, *args: str) -> bytes:
    return invoke(command, *STATIC.get(command, ()), *args, "pkg", "models dir", "broken.py", "missing.py").stdout_bytes


@pytest.mark.parametrize(
    ("inputs", "args"),
    [
        ("json", ["--format", "json"]),
        ("json", ["--format", "text"]),
        ("json", ["--format", "text", "--statistics"]),
        ("json", ["--format", "github"]),
        ("sarif", ["--format", "sarif"]),
    ],
    ids=["json", "text", "statistics", "github", "sarif"],
)
def test_merged_check_reports_are_byte_identical_to_the_unsharded_run(repo: Path, inputs: str, args: list[str]) -> None:
    names = shard_reports("check", inputs)
    expected = unsharded("check", *args)
    merged = invoke("merge-reports", *args, *names)
    assert merged.exit_code == 2  # broken.py and missing.py, as in the unsharded run
    assert merged.stdout_bytes == expected
    assert invoke("merge-reports", *args, *reversed(names)).stdout_bytes == expected


def test_merged_diff_reports(repo: Path) -> None:
    names = shard_reports("diff", "json")
    whole = invoke("diff", "--no-verify", "--format", "json", "pkg", "models dir", "broken.py", "missing.py").stderr_bytes
    assert invoke("merge-reports", *names).stdout_bytes == whole
    text = invoke("diff", "--no-verify", "pkg", "models dir", "broken.py", "missing.py").stderr_bytes
    merged = invoke("merge-reports", "--format", "text", *names).stdout_bytes
    # The JSON reports carry why each remaining fix was declined: the summary's reasons survive.
    assert merged == text
    assert b" not fixed: the fix was declined: " in merged


def test_default_format_is_the_inputs_and_output_goes_to_a_file(repo: Path) -> None:
    names = shard_reports("check", "sarif")
    result = invoke("merge-reports", "-o", "all.sarif", *names)
    assert result.stdout == ""
    assert (repo / "all.sarif").read_bytes() == unsharded("check", "--format", "sarif")


def test_exit_status_follows_the_merged_report(repo: Path) -> None:
    (repo / "broken.py").unlink()
    for report_format in ("json", "sarif"):
        names = []
        for k in (1, 2):
            name = f"s{k}.{report_format}"
            invoke("check", "--shard", f"{k}/2", "--format", report_format, "-o", name, "pkg")
            names.append(name)
        assert invoke("merge-reports", *names).exit_code == 1
        assert invoke("merge-reports", "--exit-zero", *names).exit_code == 0
    (repo / "clean").mkdir()
    (repo / "clean" / "ok.py").write_text("x = 1\n")
    invoke("check", "--shard", "1/1", "--format", "json", "-o", "clean.json", "clean")
    merged = invoke("merge-reports", "--format", "text", "clean.json")
    assert merged.exit_code == 0 and merged.stdout == "No hazards found (1 file checked).\n"


def mistake(*args: str) -> str:
    result = invoke("merge-reports", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    return result.stderr


def test_reports_that_cannot_be_merged(repo: Path) -> None:
    json_names = shard_reports("check", "json")
    sarif_names = shard_reports("check", "sarif")
    assert "is in both" in mistake(json_names[0], json_names[0])
    assert "more than one log" in mistake(sarif_names[0], sarif_names[0])
    assert "mix JSON and SARIF" in mistake(json_names[0], sarif_names[1])
    assert "SARIF fixes" in mistake("--format", "sarif", *json_names)
    assert "SARIF fixes" in mistake("--format", "text", *sarif_names)
    assert "--statistics applies to the text format only" in mistake("--statistics", *json_names)
    (repo / "notes.json").write_text('{"hello": 1}')
    assert "neither a gradsafe JSON report nor a SARIF log" in mistake("notes.json")
    (repo / "half.json").write_text('{"findings": [')
    assert "half.json: not a JSON file" in mistake("half.json")
    assert "cannot read" in mistake("absent.json")
    diff_name = shard_reports("diff", "json")[1]
    assert "different commands" in mistake(json_names[0], diff_name)


def test_a_report_from_other_rewrite_passes_is_refused(repo: Path) -> None:
    (name,) = shard_reports("check", "json")[:1]
    document = json.loads((repo / name).read_text())
    fixable = next(f for f in document["findings"] if f["fix"] is not None)
    fixable["fix"]["applicable"] = not fixable["fix"]["applicable"]
    (repo / name).write_text(json.dumps(document))
    assert "other rewrite passes" in mistake(name)


def test_json_reports_read_back_exactly() -> None:
    """Everything a JSON report holds (fixed findings, verdicts, errors, totals) survives reading it back."""

    def finding(line: int, scope: str, fix: bool) -> Finding:
        span = Span(line, 2, line + 1, 1)
        return Finding(
            "GS203",
            f"update at {line}",
            span,
            Confidence.POSSIBLE,
            (Related(Span(1, 0, 1, 4), "here"),),
            Fix(FixKind.CLONE, span, "copy it", FixSafety.NEEDS_VERIFICATION) if fix else None,
            None if fix else "aliased",
            scope,
        )

    report = Report(
        Command.FIX,
        [
            FileResult(
                "a/m.py",
                findings=[finding(9, "Net.forward", False)],
                fixed=[finding(4, "step", True)],
                errors=[FileError("a/m.py", "E001", "boom")],
                verdicts={"step": "verified", "Net.forward": "rejected"},
            ),
            FileResult("b.py", errors=[FileError("b.py", "E999", "SyntaxError", 3, 0)]),
        ],
    )
    original = document(report)
    again = read_report(original)
    assert document(again) == original
    stream = io.StringIO()
    render(again, stream, RenderOptions())
    assert json.loads(stream.getvalue()) == original
    assert original["fixed"][0]["verdict"] == "verified" and original["findings"][0]["verdict"] == "rejected"
