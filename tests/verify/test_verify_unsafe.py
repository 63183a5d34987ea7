"""Verification of unsafe fixes: the rewrite must change what the code computes, and still run backward.

Real analysis, pass and verification worker (torch), on synthesized inputs (tensor-annotated
arguments).  An unsafe fix that changes nothing is rejected: the silent bug it claims to repair
did not show on those inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe.cli import app

pytestmark = [pytest.mark.torch, pytest.mark.slow]

PROGRAM = '''import torch


def clipped(x: torch.Tensor) -> torch.Tensor:
    y = x * 2
    y.clamp(-1, 1)
    return y * 3


def laid_out(x: torch.Tensor) -> torch.Tensor:
    y = torch.sigmoid(x)
    y.contiguous()
    return y * 3
'''


@pytest.fixture(autouse=True)
def _needs_torch() -> None:
    pytest.importorskip("torch")


def test_an_unsafe_fix_that_changes_the_result_is_changed_and_one_that_does_not_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.py"
    path.write_text(PROGRAM)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["fix", "--unsafe-fixes", "--isolated", "--no-cache", "--format", "json", "model.py"])
    report = json.loads(result.stdout)
    verdicts = {f["scope"]: (f["verdict"], f["verdict_detail"]) for f in [*report["fixed"], *report["findings"]]}
    assert verdicts["clipped"][0] == "changed", verdicts
    assert "changes what the code computes" in verdicts["clipped"][1]
    assert verdicts["laid_out"][0] == "rejected", verdicts
    assert "changes nothing" in verdicts["laid_out"][1]
    text = path.read_text()
    assert "    y = y.clamp(-1, 1)\n" in text
    assert "    y.contiguous()\n" in text, "a rejected rewrite is never written"
    assert [f["fix"]["applicability"] for f in report["fixed"]] == ["unsafe"]


def test_without_the_flag_nothing_is_run_or_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.py"
    path.write_text(PROGRAM)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["fix", "--isolated", "--no-cache", "model.py"])
    assert result.exit_code == 1
    assert path.read_text() == PROGRAM
    assert "verifying" not in result.output
    assert "2 unsafe fixes available with `--unsafe-fixes`" in result.output
