"""End to end, as a user meets it: `gradsafe fix --scenario FILE:run FILE` on realistic programs.

For each program in tests/fixtures/e2e, the fixed program's `run()` must return what the hand-written
correct reference returns (outputs and gradients), every fix must carry a `verified` or `repaired`
verdict, and a second `fix` must change nothing.  The safe program must come back byte-identical.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe.cli import app

pytestmark = [pytest.mark.torch, pytest.mark.slow]

E2E = Path(__file__).parent.parent / "fixtures" / "e2e"
CASES = sorted(p.stem for p in E2E.glob("*.py") if not p.stem.endswith(".reference"))


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("case", CASES)
def test_fixed_program_computes_the_reference(case: str, tmp_path: Path, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / f"{case}.py"
    shutil.copy(E2E / f"{case}.py", path)
    original = path.read_bytes()
    monkeypatch.chdir(tmp_path)

    first = CliRunner().invoke(app, ["fix", "--format", "json", "--scenario", f"{case}.py:run", f"{case}.py"])
    assert first.exit_code in (0, 1), first.output
    report = json.loads(first.stdout)
    assert report["findings"] == [], "every hazard of these programs has a proven fix"
    assert all(f["verdict"] in ("verified", "repaired") for f in report["fixed"])

    fixed = _load(path, f"e2e_fixed_{case}").run()
    reference = _load(E2E / f"{case}.reference.py", f"e2e_reference_{case}").run()
    assert fixed.keys() == reference.keys()
    for key in reference:
        torch.testing.assert_close(fixed[key], reference[key], msg=lambda m, key=key: f"{key}: {m}")

    if not report["fixed"]:
        assert path.read_bytes() == original, "a safe program must come back byte-identical"
    rewritten = path.read_bytes()
    second = CliRunner().invoke(app, ["fix", "--scenario", f"{case}.py:run", f"{case}.py"])
    assert second.exit_code == 0, second.output
    assert path.read_bytes() == rewritten, "a second fix changes nothing"
