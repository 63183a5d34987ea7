"""The verify stage of `diff`/`fix`: only proven rewrites reach the user's files.

These run the real analysis and passes and the real verification worker (torch), on small copies
of the end-to-end programs.  The one rewrite that is deliberately wrong is injected by wrapping the
real out-of-place pass, exactly as a buggy pass would produce it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import libcst as cst
import pytest
from typer.testing import CliRunner

import gradsafe.transforms
from gradsafe.cli import app
from gradsafe.findings import FixKind
from gradsafe.transforms import PassResult

pytestmark = [pytest.mark.torch, pytest.mark.slow]

E2E = Path(__file__).parent.parent / "fixtures" / "e2e"


@pytest.fixture(autouse=True)
def _needs_torch():
    pytest.importorskip("torch")


def copy_case(directory: Path, name: str) -> Path:
    target = directory / f"{name}.py"
    shutil.copy(E2E / f"{name}.py", target)
    return target


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


class _WrongConstant:
    """The real out-of-place pass, but it writes `g.mul(3.0)` where the original scales by 2."""

    kind = FixKind.OUT_OF_PLACE

    def __init__(self, real) -> None:
        self.real = real

    def apply(self, module, fixes):
        result = self.real.apply(module, fixes)
        wrong = cst.parse_module(result.module.code.replace("mul(2.0)", "mul(3.0)"))
        return PassResult(wrong, result.applied, result.declined)


def test_a_wrong_rewrite_is_rejected_and_never_written(tmp_path: Path, monkeypatch) -> None:
    path = copy_case(tmp_path, "gated_mlp")
    original = path.read_bytes()
    passes = gradsafe.transforms._passes()
    monkeypatch.setitem(passes, FixKind.OUT_OF_PLACE, _WrongConstant(passes[FixKind.OUT_OF_PLACE]))
    monkeypatch.chdir(tmp_path)

    result = invoke("fix", "--format", "json", "--scenario", "gated_mlp.py:run", "gated_mlp.py")

    assert path.read_bytes() == original
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    [finding] = report["findings"]
    assert finding["code"] == "GS101"
    assert finding["verdict"] == "rejected"
    assert finding["verdict_detail"], "a rejection says what differed"
    assert report["fixed"] == []


def test_the_right_rewrite_of_the_same_file_is_written_as_repaired(tmp_path: Path, monkeypatch) -> None:
    path = copy_case(tmp_path, "gated_mlp")
    monkeypatch.chdir(tmp_path)
    result = invoke("fix", "--format", "json", "--scenario", "gated_mlp.py:run", "gated_mlp.py")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [f["verdict"] for f in report["fixed"]] == ["repaired"]
    assert "g = g.mul(2.0)" in path.read_text()


UNREACHABLE = '''import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, dim, hidden):  # no defaults: gradsafe cannot build one without a scenario
        super().__init__()
        self.fc = nn.Linear(dim, hidden)

    def forward(self, x):
        g = torch.sigmoid(self.fc(x))
        g.mul_(2.0)
        return g
'''


def test_unverified_rewrites_are_held_back_unless_asked_for(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "gate.py"
    path.write_text(UNREACHABLE)
    monkeypatch.chdir(tmp_path)

    held = invoke("diff", "--format", "json", "-o", "report.json", "gate.py")
    assert held.stdout == "", "no unverified hunk by default"
    [finding] = json.loads((tmp_path / "report.json").read_text())["findings"]
    assert finding["verdict"] == "unverified"
    assert "scenario" in finding["verdict_detail"], "an unverified verdict says how to provide inputs"

    emitted = invoke("fix", "--unverified", "--format", "json", "gate.py")
    assert [f["verdict"] for f in json.loads(emitted.stdout)["fixed"]] == ["unverified"]
    assert "g = g.mul(2.0)" in path.read_text()


def test_no_verify_runs_nothing(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "gate.py"
    path.write_text(UNREACHABLE)
    monkeypatch.chdir(tmp_path)

    def explode(*args, **kwargs):
        raise AssertionError("--no-verify must not verify")

    monkeypatch.setattr("gradsafe.verify.stage.verify_results", explode)
    result = invoke("fix", "--no-verify", "gate.py")
    assert result.exit_code == 0, result.output
    assert "verifying" not in result.stderr
    assert "g = g.mul(2.0)" in path.read_text()


def test_missing_torch_is_a_clear_error_and_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "gate.py"
    path.write_text(UNREACHABLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("gradsafe.verify.torch_available", lambda python=None: False)
    result = invoke("fix", "gate.py")
    assert result.exit_code == 2
    assert "verification needs torch" in result.stderr and "--no-verify" in result.stderr
    assert "Traceback" not in result.output
    assert path.read_text() == UNREACHABLE


def test_scenarios_come_from_the_configuration_too(tmp_path: Path, monkeypatch) -> None:
    path = copy_case(tmp_path, "classifier_head")
    (tmp_path / "pyproject.toml").write_text('[tool.gradsafe.verify]\nscenarios = ["classifier_head.py:run"]\n')
    monkeypatch.chdir(tmp_path)
    result = invoke("fix", "--format", "json", "classifier_head.py")
    assert result.exit_code == 0, result.output
    # The original fails in backward (ReLU overwrites the Sigmoid's saved output): a repair, not an equivalence.
    assert [f["verdict"] for f in json.loads(result.stdout)["fixed"]] == ["repaired"]
    assert "nn.ReLU()" in path.read_text()


def test_a_misnamed_scenario_is_an_error_and_nothing_is_emitted(tmp_path: Path, monkeypatch) -> None:
    path = copy_case(tmp_path, "classifier_head")
    before = path.read_text()
    monkeypatch.chdir(tmp_path)
    result = invoke("fix", "--scenario", "nope.py:run", "classifier_head.py")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [f"gradsafe: error: scenario nope.py:run: no file nope.py under the project root {tmp_path}"]
    assert path.read_text() == before
    missing_function = invoke("diff", "--scenario", "classifier_head.py:nope", "classifier_head.py")
    assert missing_function.exit_code == 2 and missing_function.stdout == ""
    assert "scenario classifier_head.py:nope fails before it reaches any rewritten function" in missing_function.stderr


def test_a_scenario_that_fails_before_reaching_the_rewrite_is_an_error(tmp_path: Path, monkeypatch) -> None:
    path = copy_case(tmp_path, "classifier_head")
    (tmp_path / "smoke.py").write_text("def run():\n    raise ValueError('no data here')\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("diff", "--scenario", "smoke.py:run", "classifier_head.py")
    assert result.exit_code == 2 and result.stdout == ""
    assert (
        "gradsafe: error: scenario smoke.py:run fails before it reaches any rewritten function: "
        "the original raises ValueError: no data here" in result.stderr
    )
    assert "inplace=True" in path.read_text()


def test_the_verdict_table_follows_the_report_on_stderr(tmp_path: Path, monkeypatch) -> None:
    copy_case(tmp_path, "classifier_head")
    monkeypatch.chdir(tmp_path)
    result = invoke("diff", "--scenario", "classifier_head.py:run", "classifier_head.py")
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    table = lines[lines.index("gradsafe: verdict per rewritten function:") + 1 :]
    assert table[0].split() == ["VERDICT", "FUNCTION"]
    assert [row.split()[0] for row in table[1:]] == ["repaired"]
    assert "nn.ReLU()" in result.stdout
