"""`gradsafe diff` output applies with `git apply` and `patch -p1`, byte for byte."""

from __future__ import annotations

import codecs
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe.cli import app
from gradsafe.report.unified_diff import unified_diff

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
needs_patch = pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed")

TREE = {
    "crlf.py": b"import torch\r\n\r\ndef f(y):\r\n    y.add_(1)\r\n    return y\r\n",
    "bom.py": codecs.BOM_UTF8 + "def f(y):  # é\n    y.add_(1)\n    return y\n".encode(),
    "no_newline.py": b"def f(y):\n    return y\n\ny.add_(2)",
    "pkg/latin.py": b"# -*- coding: latin-1 -*-\ndef f(y):\n    s = '\xe9'\n    y.add_(1)\n    return y\n",
    "pkg/space name.py": b"y.add_(1)\n",
    "clean.py": b"x = 1\n",
}


def make_tree(root: Path) -> Path:
    for name, data in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in TREE}


def run_patch_tool(args: list[str], cwd: Path, patch: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, input=patch, capture_output=True, check=False)


@pytest.fixture
def diff_and_fixed(tmp_path: Path, monkeypatch, fake_engine) -> tuple[bytes, dict[str, bytes], Path]:  # noqa: F811
    """The patch `gradsafe diff` prints for the tree, the bytes `gradsafe fix` writes, a pristine copy."""
    work = make_tree(tmp_path / "work")
    pristine = make_tree(tmp_path / "pristine")
    monkeypatch.chdir(work)
    diff = CliRunner().invoke(app, ["diff", "--no-verify", "."])
    assert diff.exit_code == 1, diff.output
    assert tree_bytes(work) == tree_bytes(pristine), "diff must not write"
    fixed = CliRunner().invoke(app, ["fix", "--no-verify", "."])
    assert fixed.exit_code == 0, fixed.output
    return diff.stdout_bytes, tree_bytes(work), pristine


@needs_git
def test_git_apply_check_and_apply(diff_and_fixed, tmp_path: Path) -> None:
    patch, fixed, pristine = diff_and_fixed
    subprocess.run(["git", "init", "-q", str(pristine)], check=True)
    check = run_patch_tool(["git", "apply", "--check", "-"], pristine, patch)
    assert check.returncode == 0, check.stderr.decode()
    applied = run_patch_tool(["git", "apply", "-"], pristine, patch)
    assert applied.returncode == 0, applied.stderr.decode()
    assert tree_bytes(pristine) == fixed


@needs_patch
def test_patch_p1_dry_run_and_apply(diff_and_fixed) -> None:
    patch, fixed, pristine = diff_and_fixed
    dry = run_patch_tool(["patch", "-p1", "--dry-run", "--binary"], pristine, patch)
    assert dry.returncode == 0, dry.stdout.decode() + dry.stderr.decode()
    applied = run_patch_tool(["patch", "-p1", "--binary", "--no-backup-if-mismatch"], pristine, patch)
    assert applied.returncode == 0, applied.stdout.decode()
    assert tree_bytes(pristine) == fixed


def test_headers_are_relative_with_a_and_b_prefixes(diff_and_fixed) -> None:
    patch, _, _ = diff_and_fixed
    headers = [line for line in patch.split(b"\n") if line.startswith((b"--- ", b"+++ "))]
    assert b"--- a/crlf.py" in headers and b"+++ b/crlf.py" in headers
    assert b"--- a/pkg/latin.py" in headers
    assert b"clean.py" not in patch


def test_files_come_in_path_order(diff_and_fixed) -> None:
    patch, _, _ = diff_and_fixed
    order = [line[6:].rstrip(b"\t").decode() for line in patch.split(b"\n") if line.startswith(b"--- a/")]
    assert order == ["bom.py", "crlf.py", "no_newline.py", "pkg/latin.py", "pkg/space name.py"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"a\nb", b"a\nc"),
        (b"a\nb", b"a\nb\n"),
        (b"a\nb\n", b"a\nb"),
        (b"a\r\nb\r\n", b"a\r\nc\r\n"),
        (b"a\rb\n", b"a\rc\n"),
        (b"", b"x\n"),
    ],
    ids=["no-newline-both", "newline-added", "newline-removed", "crlf", "lone-cr", "from-empty"],
)
@needs_patch
def test_edge_cases_apply_with_patch(tmp_path: Path, old: bytes, new: bytes) -> None:
    (tmp_path / "f.py").write_bytes(old)
    patch = unified_diff(old, new, "f.py")
    assert patch.count(b"\\ No newline at end of file") == (not old.endswith(b"\n") and old != b"") + (
        not new.endswith(b"\n")
    )
    result = run_patch_tool(["patch", "-p1", "--binary", "--no-backup-if-mismatch"], tmp_path, patch)
    assert result.returncode == 0, result.stdout.decode()
    assert (tmp_path / "f.py").read_bytes() == new


def test_equal_inputs_give_an_empty_diff() -> None:
    assert unified_diff(b"x\n", b"x\n", "f.py") == b""
