"""The pre-commit hooks (``.pre-commit-hooks.yaml``): well-formed, accepted by the command line, static.

The last test runs them for real with ``pre-commit try-repo`` (which builds the hook's own
virtual environment from a copy of this repository); it is skipped when pre-commit is not
installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.report_repo import REPO, invoke

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
HAZARD = (REPO / "pkg" / "saved_input.py").read_text(encoding="utf-8")
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"


def hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}


def test_hooks_are_declared_as_pre_commit_expects() -> None:
    found = hooks()
    assert set(found) == {"gradsafe-check", "gradsafe-fix"}
    script = next(iter(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]))
    for hook_id, command in (("gradsafe-check", "check"), ("gradsafe-fix", "fix")):
        hook = found[hook_id]
        assert hook["entry"].split()[:2] == [script, command]
        assert "--force-exclude" in hook["entry"].split()  # so `exclude` applies to the files pre-commit passes
        assert hook["language"] == "python"  # pre-commit installs gradsafe, and only gradsafe
        assert hook["types"] == ["python"]
        assert {"name", "description"} <= set(hook)
        # gradsafe starts its own worker pool: pre-commit must not split the files over several runs.
        assert hook["require_serial"] is True


def hook_command(hook: dict) -> list[str]:
    return [*hook["entry"].split()[1:], *hook.get("args", [])]


def test_the_hook_command_lines_work(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.py").write_text(HAZARD)
    (tmp_path / "clean.py").write_text("x = 1\n")
    check = invoke(*hook_command(hooks()["gradsafe-check"]), "model.py", "clean.py")
    assert check.exit_code == 1 and check.stdout.startswith("model.py:13:9: GS102 ")
    fix = invoke(*hook_command(hooks()["gradsafe-fix"]), "model.py", "clean.py")
    assert fix.exit_code == 0, fix.output
    assert "h = h.add(1)" in (tmp_path / "model.py").read_text()


def test_the_fix_hook_stays_static() -> None:
    """`gradsafe fix` will verify rewrites by running them under torch; the hook must opt out."""
    fix_help = invoke("fix", "--help").stdout
    hook = hooks()["gradsafe-fix"]
    if "--no-verify" in fix_help:
        assert "--no-verify" in hook_command(hook)
    else:  # until the option exists, the file says where it goes
        assert "args: [--no-verify]" in HOOKS_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("hook_id", ["gradsafe-check", "gradsafe-fix"])
def test_hooks_never_import_torch(tmp_path: Path, hook_id: str) -> None:
    (tmp_path / "model.py").write_text(HAZARD)
    command = [sys.executable, "-X", "importtime", "-m", "gradsafe", *hook_command(hooks()[hook_id]), "model.py"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode in (0, 1), result.stderr
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "gradsafe" in imported and "torch" not in imported


def git(*args: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


@pytest.mark.slow
@pytest.mark.skipif(not PRE_COMMIT.exists() or shutil.which("git") is None, reason="pre-commit or git is not installed")
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    # A committed copy of the project (try-repo clones it; the work tree may hold uncommitted files).
    hook_repo = tmp_path / "gradsafe"
    hook_repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, hook_repo / name)
    for package in ("codemod", "transforms"):
        shutil.copytree(ROOT / package, hook_repo / package, ignore=shutil.ignore_patterns("__pycache__"))
    git("init", "-q", cwd=hook_repo)
    git("add", ".", cwd=hook_repo)
    git("commit", "-q", "-m", "snapshot", cwd=hook_repo)

    project = tmp_path / "project"
    project.mkdir()
    (project / "model.py").write_text(HAZARD)
    git("init", "-q", cwd=project)
    git("add", "model.py", cwd=project)  # pre-commit sees a hook's changes through git
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}

    def try_repo(hook_id: str) -> subprocess.CompletedProcess:
        command = [str(PRE_COMMIT), "try-repo", str(hook_repo), hook_id, "--files", "model.py", "--color", "never"]
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False)

    check = try_repo("gradsafe-check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "model.py:13:9: GS102" in check.stdout
    fix = try_repo("gradsafe-fix")
    assert fix.returncode == 1, fix.stdout + fix.stderr  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in fix.stdout
    assert "h = h.add(1)" in (project / "model.py").read_text()
