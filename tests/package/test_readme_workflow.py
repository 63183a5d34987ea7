"""The README's GitHub Actions workflow: its shell lines run as written, in a repository like a user's.

The workflow cannot be run on GitHub from here, so the test takes the ``run:`` lines of the README's
first workflow and runs them with bash in a temporary git repository that has a hazard and a
scenario.  Install lines are not run (they reach the network); they are checked for what makes them
work: gradsafe from its repository at a pinned commit, and the project itself installed before the
job that runs the project's code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HAZARD = '''import torch
from torch import nn


class Scale(nn.Module):
    def forward(self, x):
        y = torch.sigmoid(x)
        y.mul_(2.0)
        return y
'''
SMOKE = '''import torch

from model import Scale


def run():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    Scale()(x).sum().backward()
    return {"x.grad": x.grad}
'''


def workflow() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### GitHub Actions", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "the README's GitHub Actions section has no workflow"
    return yaml.safe_load(block.group(1))


def steps(job: str) -> list[str]:
    return [step["run"] for step in workflow()["jobs"][job]["steps"] if "run" in step]


def is_install(line: str) -> bool:
    return "pip install" in line


def test_every_install_line_can_work() -> None:
    flow = workflow()
    rev = flow["env"]["GRADSAFE_REV"]
    assert re.fullmatch(r"[0-9a-f]{40}", str(rev)), "pin gradsafe to a commit (no release tag exists)"
    for job in flow["jobs"]:
        installs = [line for line in steps(job) if is_install(line)]
        gradsafe = [line for line in installs if "gradsafe" in line]
        assert gradsafe, f"job {job} never installs gradsafe"
        for line in gradsafe:
            # No package index serves gradsafe: install it from its repository, at the pinned commit.
            assert re.search(r'"gradsafe(\[verify\])? @ git\+https://[^"]+@\$\{GRADSAFE_REV\}"', line), line
    fixes = steps("fixes")
    project = next(i for i, line in enumerate(fixes) if line.strip() == "python -m pip install -e .")
    runs_code = next(i for i, line in enumerate(fixes) if "--scenario" in line)
    assert project < runs_code, "the scheduled job must install the project before its scenario imports it"
    assert any("gradsafe[verify]" in line for line in fixes), "verification needs torch"


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "model.py").write_text(HAZARD)
    (tmp_path / "tests" / "smoke.py").write_text(SMOKE)
    for command in (["init", "-q"], ["add", "."], ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=tmp_path, check=True, capture_output=True)
    return tmp_path


def bash(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None, reason="needs git and bash")
def test_the_check_job_reports_the_hazard_as_sarif(user_repo: Path) -> None:
    for line in steps("check"):
        if is_install(line):
            continue
        result = bash(line, user_repo)
        # "Exits 1 on findings, which fails the check."
        assert result.returncode == 1, result.stderr
    sarif = json.loads((user_repo / "gradsafe.sarif").read_text(encoding="utf-8"))
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["GS101"]


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None, reason="needs git and bash")
def test_the_scheduled_job_writes_a_verified_patch_that_applies(user_repo: Path) -> None:
    pytest.importorskip("torch")
    for line in steps("fixes"):
        if is_install(line):
            continue
        result = bash(line, user_repo)
        assert result.returncode == 0, result.stderr  # `|| [ $? -eq 1 ]`: printed changes are success
    patch = (user_repo / "gradsafe.patch").read_text(encoding="utf-8")
    assert "+        y = y.mul(2.0)" in patch
    applied = subprocess.run(["git", "apply", "--check", "gradsafe.patch"], cwd=user_repo, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
