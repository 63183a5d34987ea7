"""The installed console script, run as a user runs it (a separate process each time)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / ("gradsafe.exe" if os.name == "nt" else "gradsafe")
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="gradsafe is not installed in this environment")


def run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, env=env, check=False, timeout=120)


@needs_script
def test_version(tmp_path: Path) -> None:
    from gradsafe import __version__

    result = run(str(SCRIPT), "--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.decode().strip() == f"gradsafe {__version__}"


def test_check_imports_neither_torch_nor_libcst(tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text("import torch\n\ny = torch.ones(3)\ny.add_(1)\n")
    result = run(sys.executable, "-X", "importtime", "-m", "gradsafe", "check", "x.py", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr.decode()
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "gradsafe" in imported  # the measurement itself worked
    assert "torch" not in imported
    assert "libcst" not in imported


@needs_script
def test_a_messy_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "crlf.py").write_bytes(b"import torch\r\nx = torch.ones(2)\r\n")
    (repo / "pkg" / "bom.py").write_bytes(b"\xef\xbb\xbfx = 1\n")
    (repo / "pkg" / "broken.py").write_text("def f(:\n    pass\n")
    (repo / "pkg" / "latin.py").write_bytes(b"s = '\xe9'\n")
    (repo / "vendor").mkdir()
    (repo / "vendor" / "v.py").write_text("def f(:\n")
    (repo / "pyproject.toml").write_text('[tool.gradsafe]\nextend-exclude = ["vendor/"]\n')
    if hasattr(os, "symlink"):
        (repo / "pkg" / "loop").symlink_to(repo / "pkg")
    result = run(str(SCRIPT), "check", ".", cwd=repo)
    out = result.stdout.decode()
    assert result.returncode == 2
    assert "pkg/broken.py:1:7: E999 SyntaxError:" in out
    assert "pkg/latin.py:1:6: E902 cannot decode: cannot decode byte 0xe9 as utf-8" in out
    assert "vendor" not in out and "loop" not in out
    assert "Traceback" not in out + result.stderr.decode()
    assert out.splitlines()[-2:] == ["No hazards found (2 files checked).", "2 files could not be processed."]
    again = run(str(SCRIPT), "check", ".", cwd=repo)
    assert again.stdout == result.stdout


@needs_script
@pytest.mark.torch  # diff verifies the examples' fixes by running them
def test_diff_on_the_examples_applies_with_git(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples)
    result = run(str(SCRIPT), "diff", "examples", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr.decode()
    assert (result.returncode == 1) == bool(result.stdout)
    if result.stdout and shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        check = subprocess.run(["git", "apply", "--check", "-"], cwd=tmp_path, input=result.stdout, capture_output=True)
        assert check.returncode == 0, check.stderr.decode()


def test_python_dash_m_codemod(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "gradsafe", "check", "-", cwd=tmp_path, stdin=b"x = 1\n")
    assert result.returncode == 0
    assert result.stdout.decode() == "No hazards found (1 file checked).\n"
    default = run(sys.executable, "-m", "gradsafe", "check", cwd=tmp_path)  # no PATH: the current directory
    assert default.returncode == 0 and default.stdout.decode() == "No hazards found (0 files checked).\n"
    usage = run(sys.executable, "-m", "gradsafe", "check", "--bogus", cwd=tmp_path)
    assert usage.returncode == 2 and b"Traceback" not in usage.stderr
