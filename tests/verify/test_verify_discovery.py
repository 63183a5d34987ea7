"""The project's pytest tests as verification scenarios: which are found, which are run."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradsafe.cli import app
from gradsafe.verify.discovery import collection_paths, discover_tests
from typer.testing import CliRunner

MODEL = '''import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, dim, hidden):  # no defaults: gradsafe cannot build one by itself
        super().__init__()
        self.fc = nn.Linear(dim, hidden)

    def forward(self, x):
        g = torch.sigmoid(self.fc(x))
        g.mul_(2.0)
        return g
'''

TESTS = '''import pytest
import torch

from model import Gate


def test_gate_trains():
    torch.manual_seed(0)
    gate = Gate(3, 4)
    gate(torch.randn(2, 3)).sum().backward()
    assert gate.fc.weight.grad is not None


def test_with_a_fixture(tmp_path):
    Gate(3, 4)


@pytest.mark.parametrize("dim", [3])
def test_parametrized(dim):
    Gate(dim, 4)


class TestGate:
    def test_in_a_class(self):
        Gate(3, 4)
'''

UNRELATED = '''import model


def test_mentions_nothing_rewritten():
    assert model.__name__ == "model"
'''

NOT_IMPORTING = '''def test_names_gate_but_imports_nothing():
    Gate = None
    assert Gate is None
'''


def project(root: Path) -> Path:
    (root / "tests").mkdir()
    (root / "model.py").write_text(MODEL)
    (root / "tests" / "test_model.py").write_text(TESTS)
    (root / "tests" / "test_unrelated.py").write_text(UNRELATED)
    (root / "tests" / "test_other.py").write_text(NOT_IMPORTING)
    (root / "tests" / "helpers.py").write_text("from model import Gate\n\n\ndef test_not_a_test_file():\n    Gate(3, 4)\n")
    return root / "model.py"


def test_only_callable_tests_that_import_and_name_a_rewritten_function_are_scenarios(tmp_path: Path) -> None:
    model = project(tmp_path)
    assert discover_tests(tmp_path, [(model, "Gate.forward")]) == ["tests/test_model.py:test_gate_trains"]
    assert discover_tests(tmp_path, [(model, "other_function")]) == []


def test_testpaths_of_the_pytest_configuration_come_first(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "checks").mkdir()
    assert collection_paths(tmp_path) == [tmp_path / "tests"]
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["checks"]\n')
    assert collection_paths(tmp_path) == [tmp_path / "checks"]
    assert discover_tests(tmp_path, [(tmp_path / "model.py", "Gate.forward")]) == []
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\ntestpaths = checks tests\n")
    assert collection_paths(tmp_path) == [tmp_path / "checks", tmp_path / "tests"]


def test_no_tests_directory_means_no_tests(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "test_model.py").write_text(TESTS)  # at the top, outside any configured test path
    assert discover_tests(tmp_path, [(tmp_path / "model.py", "Gate.forward")]) == []


@pytest.mark.torch
@pytest.mark.slow
def test_a_rewrite_is_verified_by_the_projects_test_and_not_without_it(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    project(tmp_path)
    monkeypatch.chdir(tmp_path)

    with_tests = CliRunner().invoke(app, ["verify", "."])
    without = CliRunner().invoke(app, ["verify", "--no-tests", "."])

    assert "model.py: Gate.forward: repaired" in with_tests.stdout, with_tests.output
    assert "running 1 of the project's tests as scenarios" in with_tests.stderr
    assert "model.py: Gate.forward: unverified" in without.stdout, without.output
    assert "project's tests" not in without.stderr


def test_a_test_reaches_a_method_through_the_modules_own_functions(tmp_path: Path) -> None:
    model = project(tmp_path)
    model.write_text(MODEL + "\n\ndef build():\n    return Gate(3, 4)\n\n\ndef train():\n    build()\n")
    (tmp_path / "tests" / "test_train.py").write_text("import model\n\n\ndef test_train():\n    model.train()\n")
    (tmp_path / "tests" / "test_unrelated.py").write_text("import model\n\n\ndef test_x():\n    model.other()\n")
    found = discover_tests(tmp_path, [(model, "Gate.forward")])
    assert found == ["tests/test_model.py:test_gate_trains", "tests/test_train.py:test_train"]
