"""SARIF output: valid against the official 2.1.0 schema, rule metadata from the rule modules,
locations and related locations, and fixes that really turn each file into its fixed text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator
from helpers.report_repo import REPORTS, invoke, make_repo, pin_passes

from gradsafe.errors import FileError
from gradsafe.findings import Confidence, Finding, Related, Span
from gradsafe.results import FileResult
from gradsafe.report import Command, RenderOptions, Report, get_formatter
from gradsafe.report.sarif import artifact_location, artifact_path
from gradsafe.rules import all_rules

SCHEMA = json.loads((REPORTS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = Draft4Validator(SCHEMA)


def schema_errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in VALIDATOR.iter_errors(document)]


def sarif_of(*args: str) -> dict:
    result = invoke(*args)
    assert result.exit_code in (0, 1, 2), result.output
    return json.loads(result.stdout)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    pin_passes(monkeypatch)
    root = make_repo(tmp_path / "repo")
    monkeypatch.chdir(root)
    return root


def test_the_schema_check_can_fail(repo: Path) -> None:
    document = sarif_of("check", "--format", "sarif", ".")
    document["runs"][0]["results"][0]["severity"] = "high"  # not a SARIF property
    del document["version"]
    assert len(schema_errors(document)) == 2


@pytest.mark.parametrize(
    "command",
    ["check", pytest.param("diff", marks=pytest.mark.torch), pytest.param("fix", marks=pytest.mark.torch)],
)  # diff and fix verify their rewrites under torch
def test_output_is_valid_sarif(repo: Path, command: str) -> None:
    args = [command, "--format", "sarif", "--output", "out.sarif", "."]
    assert invoke(*args).exit_code == 2  # broken.py
    document = json.loads((repo / "out.sarif").read_text(encoding="utf-8"))
    assert schema_errors(document) == []
    assert document["runs"][0]["properties"] == {"command": command}


def test_a_clean_run_is_valid_and_successful(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("x = 1\n")
    document = sarif_of("check", "--format", "sarif", ".")
    assert schema_errors(document) == []
    run = document["runs"][0]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_rule_metadata_comes_from_the_rule_modules(repo: Path) -> None:
    driver = sarif_of("check", "--format", "sarif", ".")["runs"][0]["tool"]["driver"]
    rules = all_rules()
    assert [descriptor["id"] for descriptor in driver["rules"]] == [rule.code for rule in rules]
    for descriptor, rule in zip(driver["rules"], rules, strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["help"]["markdown"] == rule.explain()
        assert descriptor["defaultConfiguration"]["enabled"] is (rule.default_enabled and rule.code != "GS901")
    levels = {descriptor["id"]: descriptor["defaultConfiguration"]["level"] for descriptor in driver["rules"]}
    assert levels["GS101"] == "error" and levels["GS901"] == "warning"


def test_results_point_at_the_findings_and_their_rules(repo: Path) -> None:
    run = sarif_of("check", "--format", "sarif", ".")["runs"][0]
    report = json.loads(invoke("check", "--format", "json", ".").stdout)
    assert len(run["results"]) == len(report["findings"])
    for result, finding in zip(run["results"], report["findings"], strict=True):
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"] == finding["code"]
        location = result["locations"][0]["physicalLocation"]
        assert artifact_path(location["artifactLocation"]) == finding["path"]
        assert location["region"] == {
            "startLine": finding["line"],
            "startColumn": finding["column"],
            "endLine": finding["end_line"],
            "endColumn": finding["end_column"],
        }
        related = [
            (r["message"]["text"], r["physicalLocation"]["region"]["startLine"])
            for r in result.get("relatedLocations", [])
        ]
        assert related == [(r["note"], r["line"]) for r in finding["related"]]
        applicability = finding["fix"]["applicability"] if finding["fix"] else None
        assert result["properties"] == {
            "confidence": finding["confidence"],
            "verdict": None,
            "fixApplicability": applicability,
        }
    notification = run["invocations"][0]["toolExecutionNotifications"][0]
    assert notification["descriptor"]["id"] == "E999"
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"


def apply_replacements(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements (character offsets into the original text), last first."""
    for replacement in sorted(replacements, key=lambda r: r["deletedRegion"]["charOffset"], reverse=True):
        region = replacement["deletedRegion"]
        start, end = region["charOffset"], region["charOffset"] + region["charLength"]
        text = text[:start] + replacement.get("insertedContent", {}).get("text", "") + text[end:]
    return text


def read_text(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as handle:  # keep \r\n
        return handle.read()


def test_fixes_reproduce_what_fix_writes(repo: Path, tmp_path: Path, monkeypatch) -> None:
    # Line endings and a character outside ASCII before the fix check that offsets count characters.
    crlf = repo / "pkg" / "crlf.py"
    text = "# Größe\n" + (repo / "pkg" / "saved_input.py").read_text(encoding="utf-8")
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    run = sarif_of("check", "--format", "sarif", ".")["runs"][0]
    changes: dict[str, list[dict]] = {}
    fixed_rules = set()
    for result in run["results"]:
        for fix in result.get("fixes", []):
            (change,) = fix["artifactChanges"]
            path = artifact_path(change["artifactLocation"])
            assert changes.setdefault(path, change["replacements"]) == change["replacements"]
            fixed_rules.add((path, result["ruleId"]))
    assert set(changes) == {"pkg/crlf.py", "pkg/saved_input.py"}
    assert ("pkg/ema.py", "GS203") not in fixed_rules  # no pass for its fix: no SARIF fix either

    fixed_copy = make_repo(tmp_path / "fixed")
    fixed_copy.joinpath("pkg", "crlf.py").write_bytes(crlf.read_bytes())
    monkeypatch.chdir(fixed_copy)
    invoke("fix", "--no-verify", ".")
    for path, replacements in changes.items():
        assert apply_replacements(read_text(repo / path), replacements) == read_text(fixed_copy / path)
    assert "\r\n        h = h.add(1)  # expect: GS102\r\n" in read_text(fixed_copy / "pkg" / "crlf.py")


def test_only_resolved_findings_carry_fixes(repo: Path) -> None:
    original = (repo / "pkg" / "saved_input.py").read_text(encoding="utf-8")
    (repo / "pkg" / "declined.py").write_text(original.replace("# expect: GS102", "# decline"))
    run = sarif_of("check", "--format", "sarif", "pkg/declined.py", "pkg/saved_input.py")["runs"][0]
    with_fixes = {
        artifact_path(r["locations"][0]["physicalLocation"]["artifactLocation"]): "fixes" in r for r in run["results"]
    }
    assert with_fixes == {"pkg/declined.py": False, "pkg/saved_input.py": True}


def render(report: Report, name: str) -> str:
    stream = io.StringIO()
    get_formatter(name)(report, stream, RenderOptions())
    return stream.getvalue()


def test_verdicts_are_carried_by_json_and_sarif() -> None:
    def finding(scope: str, line: int) -> Finding:
        return Finding(
            "GS101", "m", Span(line, 0, line, 3), Confidence.POSSIBLE, (Related(Span(1, 0, 1, 1), "n"),), scope=scope
        )

    result = FileResult(
        "a.py",
        findings=[finding("Net.forward", 3), finding("helper", 7), finding("", 9)],
        verdicts={"Net.forward": "rejected", "helper": "unverified"},
    )
    report = Report(Command.FIX, [result])
    sarif = json.loads(render(report, "sarif"))
    assert schema_errors(sarif) == []
    assert [r["properties"]["verdict"] for r in sarif["runs"][0]["results"]] == ["rejected", "unverified", None]
    document = json.loads(render(report, "json"))
    assert [f["verdict"] for f in document["findings"]] == ["rejected", "unverified", None]


def test_errors_are_notifications_and_execution_fails() -> None:
    report = Report(
        Command.CHECK,
        [FileResult("gone.py", errors=[FileError("gone.py", "E902", "no such file or directory")])],
    )
    run = json.loads(render(report, "sarif"))["runs"][0]
    assert schema_errors(json.loads(render(report, "sarif"))) == []
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (notification,) = invocation["toolExecutionNotifications"]
    assert notification["message"]["text"] == "no such file or directory"
    assert "region" not in notification["locations"][0]["physicalLocation"]


@pytest.mark.parametrize("path", ["pkg/model.py", "models dir/a b.py", "naïve/x%y.py", "/abs/dir/m.py"])
def test_artifact_locations_round_trip(path: str) -> None:
    location = artifact_location(path)
    assert " " not in location["uri"]
    assert ("uriBaseId" in location) is (not path.startswith("/"))
    assert artifact_path(location) == path
