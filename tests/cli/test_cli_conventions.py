"""ruff's command-line conventions: `--output-format`, `-V`, `PATH` defaulting to `.`, shell
completion, flags without a value in `--help`, and `# noqa` / `ignore-file` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe import __version__
from gradsafe.cli import app

HAZARD = """\
import torch


def f(x):
    y = torch.sigmoid(x)
    y.mul_(2){comment}
    return y.sum()


def run():
    f(torch.randn(3, requires_grad=True)).backward()
"""
ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "model.py").write_text(HAZARD.format(comment=""))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_output_format_is_the_ruff_spelling_of_format(project: Path) -> None:
    status, out = invoke("check", "--output-format", "json", "model.py")
    assert status == 1
    assert json.loads(out)["command"] == "check"
    assert invoke("check", "--format", "json", "model.py")[1] == out


def test_dash_capital_v_shows_the_version() -> None:
    assert invoke("-V") == (0, f"gradsafe {__version__}\n")


def test_without_a_path_the_current_directory_is_checked(project: Path) -> None:
    status, out = invoke("check")
    assert status == 1
    assert "model.py:6:5: GS101" in out


def test_flags_are_shown_without_a_value_type_in_help() -> None:
    status, out = invoke("check", "--help")
    assert status == 0
    exit_zero = next(line for line in out.splitlines() if "--exit-zero" in line)
    assert "<bool>" not in exit_zero
    assert not [line for line in out.splitlines() if "<bool>" in line and "--help" not in line]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_is_printed_for_each_shell(shell: str) -> None:
    status, out = invoke("generate-shell-completion", shell)
    assert status == 0
    assert "_GRADSAFE_COMPLETE" in out and f"complete_{shell}" in out


def test_completion_answers_the_shell_for_subcommands_and_options() -> None:
    base = {**os.environ, "_GRADSAFE_COMPLETE": "complete_bash", "COMP_WORDS": "gradsafe ch", "COMP_CWORD": "1"}
    bash = subprocess.run([sys.executable, "-m", "gradsafe"], env=base, capture_output=True, text=True, check=False)
    assert "not supported" not in bash.stderr
    assert bash.stdout.split() == ["check"]
    zsh_env = {**os.environ, "_GRADSAFE_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "gradsafe check --exit"}
    zsh = subprocess.run([sys.executable, "-m", "gradsafe"], env=zsh_env, capture_output=True, text=True, check=False)
    assert "--exit-zero" in zsh.stdout


def test_typer_is_pinned_to_a_tested_range() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (typer,) = [d for d in dependencies if d.startswith("typer")]
    assert "<" in typer and ">=" in typer


def test_noqa_with_the_code_silences_a_hazard_end_to_end(project: Path) -> None:
    (project / "model.py").write_text(HAZARD.format(comment="  # noqa: GS101"))
    assert invoke("check", "model.py")[0] == 0
    (project / "model.py").write_text(HAZARD.format(comment="  # noqa"))
    assert invoke("check", "model.py")[0] == 1  # a bare noqa is not honoured


def test_ignore_file_silences_the_file_end_to_end(project: Path) -> None:
    (project / "model.py").write_text("# gradsafe: ignore-file[GS1]\n" + HAZARD.format(comment=""))
    assert invoke("check", "model.py")[0] == 0
    (project / "model.py").write_text("# gradsafe: ignore-file[GS2]\n" + HAZARD.format(comment=""))
    assert invoke("check", "model.py")[0] == 1


def test_an_unknown_code_is_reported_by_default_and_an_unused_suppression_on_request(project: Path) -> None:
    (project / "model.py").write_text(HAZARD.format(comment="  # gradsafe: ignore[GS101, GS999]") + "z = 1  # noqa: GS2\n")
    status, out = invoke("check", "--no-cache", "model.py")
    assert status == 1
    assert "model.py:6:16: GS802" in out and "GS101" not in out.replace("GS101, ", "") and "GS801" not in out
    status, out = invoke("check", "--no-cache", "--extend-select", "GS801", "model.py")
    assert "GS801" in out and out.count("GS801") == 1 and "model.py:12:8: GS801" in out
    assert invoke("explain", "GS801")[0] == 0
