"""`gradsafe trace` and `gradsafe verify` from the command line, on real programs under torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe.cli import app

pytestmark = [pytest.mark.torch, pytest.mark.slow]

FIXTURES = Path(__file__).parent.parent / "fixtures"
TRACE = FIXTURES / "trace"


@pytest.fixture(autouse=True)
def _needs_torch():
    pytest.importorskip("torch")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def marker_line(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


def test_trace_names_the_overwrite_and_the_save(tmp_path: Path, monkeypatch) -> None:
    script = tmp_path / "saved_result.py"
    shutil.copy(TRACE / "saved_result.py", script)
    monkeypatch.chdir(tmp_path)
    result = invoke("trace", "--", sys.executable, "saved_result.py")
    assert result.exit_code == 1, result.output
    write, save = marker_line(script, "# <- overwrite"), marker_line(script, "# <- save")
    [line] = [out for out in result.stdout.splitlines() if out.startswith("saved_result.py:")]
    assert line.startswith(f"saved_result.py:{write}:")
    assert f"saved_result.py:{save}" in line
    assert "The traced run hit 1 hazard in 1 file." in result.stdout


def test_trace_is_silent_on_a_correct_training_loop_and_keeps_its_status(tmp_path: Path, monkeypatch) -> None:
    shutil.copy(TRACE / "training_loop.py", tmp_path / "training_loop.py")
    monkeypatch.chdir(tmp_path)
    result = invoke("trace", "--", sys.executable, "training_loop.py")
    assert result.exit_code == 0, result.output
    assert "No hazard happened in the traced run." in result.stdout


def test_trace_needs_a_command_or_a_scenario() -> None:
    result = invoke("trace")
    assert result.exit_code == 2
    assert "give either a command" in result.stderr and "Traceback" not in result.output


def test_trace_fix_repairs_a_write_static_analysis_cannot_see(tmp_path: Path, monkeypatch) -> None:
    script = tmp_path / "helper_argument.py"
    shutil.copy(TRACE / "helper_argument.py", script)
    monkeypatch.chdir(tmp_path)
    assert invoke("check", "helper_argument.py").exit_code == 0, "the write comes through a callback"
    result = invoke("trace", "--fix", "--unverified", "--", sys.executable, "helper_argument.py")
    assert result.exit_code == 0, result.output
    assert "t.clamp(min=-0.5)" in script.read_text()
    rerun = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert rerun.returncode == 0 and "backward failed" not in rerun.stdout


def test_verify_prints_a_verdict_per_function_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "gated_mlp.py"
    shutil.copy(FIXTURES / "e2e" / "gated_mlp.py", path)
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    result = invoke("verify", "--scenario", "gated_mlp.py:run", "gated_mlp.py")
    assert result.exit_code == 0, result.output
    assert "gated_mlp.py: GatedMLP.forward: repaired" in result.stdout
    assert path.read_bytes() == before


HELPERS = """import torch


def normalize(t):
    getattr(t, "div_")(t.sum())  # a write the static analysis cannot follow
    return t
"""

TRAIN = """import torch
from helpers import normalize


def step(x):
    return normalize(torch.exp(x)).sum()


def run():
    x = torch.randn(4, requires_grad=True)
    step(x).backward()
    return {"g": x.grad}
"""


def test_trace_fix_accounts_for_every_traced_hazard(tmp_path: Path, monkeypatch) -> None:
    # Issue 21: `trace --fix` dropped the hazards it found no rewrite for (here in a helper module),
    # said nothing about them and exited 0.
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "train.py").write_text(TRAIN)
    monkeypatch.chdir(tmp_path)
    result = invoke("trace", "--fix", "--scenario", "train.py:run")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    unfixed = [line for line in lines if "traced hazard not fixed" in line]
    assert len(unfixed) == 1, result.stdout
    assert unfixed[0].startswith("helpers.py:5:5: GS101 traced hazard not fixed: the analysis found no hazard")
    assert lines[-1] == "0 of 1 traced hazards fixed."
    assert (tmp_path / "helpers.py").read_text() == HELPERS
