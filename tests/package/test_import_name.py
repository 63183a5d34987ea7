"""gradsafe is imported as ``gradsafe`` only: user modules never replace its own, nor its own the user's.

The project in ``fixtures/shadowing`` has modules named ``transforms``, ``codemod`` (gradsafe's
folder names), ``session`` (a module of the verification worker) and ``gradsafe_settings``.  ML
projects are often run with ``PYTHONPATH=.``: every command must then print exactly what it prints
without it, and the user's code must still get the user's modules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).parent.parent / "fixtures" / "shadowing"
SCRIPT = Path(sys.executable).parent / ("gradsafe.exe" if os.name == "nt" else "gradsafe")


def gradsafe(*args: str, cwd: Path, pythonpath: bool) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = "."
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def copy_project(tmp_path: Path) -> Path:
    """A fresh copy, always at the same path, so that two runs print the same file names."""
    target = tmp_path / "project"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    return target


def test_the_package_is_gradsafe_alone() -> None:
    """Every folder with an ``__init__.py`` is listed, under ``gradsafe``, and nothing else is."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"gradsafe": "codemod", "gradsafe.transforms": "transforms"}
    on_disk = set()
    for folder, name in (("codemod", "gradsafe"), ("transforms", "gradsafe.transforms")):
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            on_disk.add(".".join((name, *parts)))
    assert set(setuptools["packages"]) == on_disk
    assert {package.split(".")[0] for package in setuptools["packages"]} == {"gradsafe"}
    assert (ROOT / "codemod" / "py.typed").is_file()


def test_python_dash_m_gradsafe(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gradsafe", "--version"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("gradsafe ")


@pytest.mark.parametrize(
    "command",
    [
        ("check", "model.py"),
        ("diff", "--no-verify", "model.py"),
        pytest.param(("diff", "--scenario", "model.py:run", "model.py"), marks=[pytest.mark.torch, pytest.mark.slow]),
        pytest.param(("verify", "--scenario", "model.py:run", "model.py"), marks=[pytest.mark.torch, pytest.mark.slow]),
        pytest.param(("trace", "--scenario", "model.py:run"), marks=[pytest.mark.torch, pytest.mark.slow]),
    ],
    ids=lambda command: "-".join(part for part in command if not part.endswith(".py") and ":" not in part),
)
def test_user_modules_on_pythonpath_change_nothing(tmp_path: Path, command: tuple[str, ...]) -> None:
    if "--scenario" in command:
        pytest.importorskip("torch")
    plain = gradsafe(*command, cwd=copy_project(tmp_path), pythonpath=False)
    shadowed = gradsafe(*command, cwd=copy_project(tmp_path), pythonpath=True)
    # The run did its job (found the hazard, fixed it, or gave the rewrite its verdict) ...
    assert any(word in plain.stdout for word in ("GS101", "y = y.mul(", "repaired")), plain.stdout + plain.stderr
    # ... and user modules on PYTHONPATH changed nothing in what it printed.
    assert (shadowed.returncode, shadowed.stdout, shadowed.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    if command[0] == "verify":
        # The worker ran the user's model, which imports the user's transforms/codemod/session.
        assert "repaired" in plain.stdout, plain.stdout + plain.stderr


@pytest.mark.torch
@pytest.mark.slow
def test_fix_with_user_modules_on_pythonpath(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    results = {}
    for name, pythonpath in (("plain", False), ("shadowed", True)):
        project = copy_project(tmp_path)
        result = gradsafe("fix", "--scenario", "model.py:run", "model.py", cwd=project, pythonpath=pythonpath)
        results[name] = (result.returncode, (project / "model.py").read_text(encoding="utf-8"))
    assert results["plain"] == results["shadowed"]
    assert "y = y.mul(OFFSET + SHIFT)" in results["plain"][1]
