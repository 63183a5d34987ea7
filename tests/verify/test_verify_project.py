"""Verification on a project as it is: its interpreter, its working directory, its file names.

The worker runs in the project's interpreter (which has torch but need not have gradsafe or its
dependencies), with the project root's contents as working directory, and keeps apart files that
share a module name.  A fix that edits ``__init__`` for a finding in ``forward`` gets that
finding's verdict.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gradsafe.cli import app
from gradsafe.verify import InterpreterNotFound, VerifySettings, find_interpreter
from gradsafe.verify.interpreter import OWN, Interpreter, has_torch
from typer.testing import CliRunner

FIXTURES = Path(__file__).parent.parent / "fixtures"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def _fake_venv(directory: Path) -> Path:
    python = directory / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    return python


# --- which interpreter ---------------------------------------------------------------------------


def test_the_configured_interpreter_comes_first(tmp_path: Path) -> None:
    python = _fake_venv(tmp_path / "env")
    _fake_venv(tmp_path / ".venv")
    chosen = find_interpreter(str(python), tmp_path, {"VIRTUAL_ENV": str(tmp_path / ".venv")})
    assert chosen.executable == str(python)


def test_a_configured_virtualenv_directory_or_relative_path_is_resolved(tmp_path: Path) -> None:
    python = _fake_venv(tmp_path / "tools")
    assert find_interpreter("tools", tmp_path, {}).executable == str(python)
    assert find_interpreter(str(tmp_path / "tools"), Path("/"), {}).executable == str(python)


def test_a_missing_configured_interpreter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InterpreterNotFound, match="nowhere"):
        find_interpreter("nowhere/python", tmp_path, {})


def test_the_active_virtualenv_then_the_projects_venv_then_gradsafes_own(tmp_path: Path) -> None:
    active = _fake_venv(tmp_path / "active")
    assert find_interpreter(None, tmp_path, {"VIRTUAL_ENV": str(tmp_path / "active")}).executable == str(active)
    assert find_interpreter(None, tmp_path, {}).source == OWN
    venv = _fake_venv(tmp_path / "venv")
    assert find_interpreter(None, tmp_path, {}).executable == str(venv)
    dot_venv = _fake_venv(tmp_path / ".venv")
    assert find_interpreter(None, tmp_path, {}).executable == str(dot_venv)
    # An active virtualenv without an interpreter (deleted) does not count.
    assert find_interpreter(None, tmp_path, {"VIRTUAL_ENV": str(tmp_path / "gone")}).executable == str(dot_venv)


def test_the_interpreter_is_a_verify_setting() -> None:
    assert VerifySettings.from_config({"python": ".venv/bin/python"}).python == ".venv/bin/python"
    with pytest.raises(ValueError, match="python"):
        VerifySettings.from_config({"python": 3})


def test_an_interpreter_without_torch_is_told_apart(tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    assert not has_torch(Interpreter(str(bare / "bin" / "python"), "test"))


# --- the worker in a virtualenv with torch and nothing of gradsafe's -----------------------------


def _requirements(name: str) -> list[str]:
    names = []
    for requirement in importlib.metadata.requires(name) or ():
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0])
    return names


def torch_only_venv(directory: Path) -> Path:
    """A virtualenv whose site-packages holds links to torch and what torch requires, nothing else."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    [site_packages] = (directory / "lib").glob("python*/site-packages")
    seen: set[str] = set()
    pending = ["torch"]
    while pending:
        name = pending.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        tops = {Path(str(f)).parts[0] for f in distribution.files or () if not str(f).startswith("..")}
        for top in tops:
            source = Path(str(distribution.locate_file(top)))
            link = site_packages / top
            if source.exists() and not link.exists() and top != "__pycache__":
                link.symlink_to(source)
        pending.extend(_requirements(name))
    return directory / "bin" / "python"


@pytest.mark.torch
@pytest.mark.slow
def test_the_worker_runs_in_a_virtualenv_that_has_torch_but_not_gradsafe(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    python = torch_only_venv(tmp_path / "env")
    for module in ("torch", "libcst", "typer", "gradsafe"):
        found = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, check=False).returncode == 0
        assert found == (module == "torch"), module
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(FIXTURES / "e2e" / "gated_mlp.py", project / "gated_mlp.py")
    monkeypatch.chdir(project)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)

    result = invoke("verify", "--python", str(tmp_path / "env"), "--scenario", "gated_mlp.py:run", ".")

    assert "GatedMLP.forward: repaired" in result.stdout, result.output
    assert f"verification runs in {python}" in result.stderr


@pytest.mark.torch
@pytest.mark.slow
def test_the_projects_venv_is_used_by_default(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    project = tmp_path / "project"
    project.mkdir()
    (project / ".venv").mkdir()
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\nexit 3\n")  # no torch here: the worker must not be started elsewhere
    python.chmod(0o755)
    shutil.copy(FIXTURES / "e2e" / "gated_mlp.py", project / "gated_mlp.py")
    monkeypatch.chdir(project)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)

    result = invoke("fix", "--scenario", "gated_mlp.py:run", ".")

    assert result.exit_code == 2, result.output
    assert f"verification needs torch in {python.absolute()}" in result.stderr
    assert "g.mul_(2.0)" in (project / "gated_mlp.py").read_text()


# --- bugs ------------------------------------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.slow
def test_a_fix_in_init_gives_its_verdict_to_the_finding_in_forward(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    shutil.copy(FIXTURES / "inplace_flag" / "construction_init.py", tmp_path / "block.py")
    monkeypatch.chdir(tmp_path)

    result = invoke("verify", "--scenario", "block.py:run", ".")

    assert result.exit_code == 0, result.output
    assert "block.py: Block.forward: repaired: Block.__init__: the original raises RuntimeError" in result.stdout
    fixed = invoke("fix", "--scenario", "block.py:run", ".")
    assert fixed.exit_code == 0, fixed.output
    assert "nn.ReLU()" in (tmp_path / "block.py").read_text()


GATE = '''import torch

SCALE = {scale}


def {name}(x):
    g = torch.sigmoid(x)
    g.mul_(SCALE)
    return g


def run():
    x = torch.randn(4, 3, requires_grad=True)
    {name}(x).sum().backward()
'''


@pytest.mark.torch
@pytest.mark.slow
def test_two_files_of_the_same_name_are_kept_apart(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    for folder, name, scale in (("a", "gate_a", "2.0"), ("b", "gate_b", "3.0")):
        (tmp_path / "examples" / folder).mkdir(parents=True)
        (tmp_path / "examples" / folder / "main.py").write_text(GATE.format(name=name, scale=scale))
    monkeypatch.chdir(tmp_path)

    result = invoke(
        "verify", "--scenario", "examples/a/main.py:run", "--scenario", "examples/b/main.py:run", "."
    )

    assert "examples/a/main.py: gate_a: repaired" in result.stdout, result.output
    assert "examples/b/main.py: gate_b: repaired" in result.stdout, result.output


RELATIVE = '''import os

import torch


def gate(x, scale):
    g = torch.sigmoid(x)
    g.mul_(scale)
    return g


def run():
    scale = float(open("data/scale.txt").read())  # relative to the project root
    with open("scratch.txt", "w") as out:  # lands in the worker's private directory
        out.write("scratch")
    for attempt in (lambda: open("data/new.txt", "w"), lambda: os.remove("data/scale.txt")):
        try:
            attempt()
        except PermissionError:
            continue
        raise AssertionError("a change inside the project was allowed")
    x = torch.randn(4, 3, requires_grad=True)
    gate(x, scale).sum().backward()
'''


@pytest.mark.torch
@pytest.mark.slow
def test_scenarios_open_files_relative_to_the_root_and_cannot_write_into_it(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "scale.txt").write_text("2.0\n")
    (tmp_path / "model.py").write_text(RELATIVE)
    (tmp_path / "pyproject.toml").write_text("[tool.gradsafe]\n")  # marks the project root
    elsewhere = tmp_path.parent / f"{tmp_path.name}-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the root comes from the path, not from where gradsafe is run

    result = invoke("verify", "--scenario", "model.py:run", str(tmp_path))

    assert "model.py: gate: repaired" in result.stdout, result.output
    assert sorted(os.listdir(tmp_path)) == ["data", "model.py", "pyproject.toml"]
    assert os.listdir(tmp_path / "data") == ["scale.txt"]
    assert not os.listdir(elsewhere)
