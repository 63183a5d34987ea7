""""Fixable" in ``check`` is what ``fix --no-verify`` applies; a fix's description is what its rewrite does;
``scripts/fix_outputs.py`` tells an edit that keeps a model's outputs from one that changes them."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def gradsafe(*args: str, cwd: Path) -> dict:
    completed = subprocess.run([sys.executable, "-m", "gradsafe", *args, "--format", "json", "--isolated", "--no-cache"],
                               cwd=cwd, capture_output=True, text=True, check=False)
    assert completed.returncode in (0, 1), completed.stderr
    return json.loads(completed.stdout)


def applicable(report: dict, applicability: str = "safe") -> list[tuple[str, int, str]]:
    """Findings whose fix ``fix`` applies: the safe ones by default, the unsafe ones with ``--unsafe-fixes``."""
    return [(f["path"], f["line"], f["code"]) for f in report["findings"]
            if (f.get("fix") or {}).get("applicable") and f["fix"]["applicability"] == applicability]


def test_check_marks_fixable_exactly_what_fix_no_verify_changes(tmp_path: Path) -> None:
    for folder in ("analysis", "out_of_place", "parameter_local", "inplace_flag"):
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    before = gradsafe("check", ".", cwd=tmp_path)
    marked = applicable(before)
    assert before["summary"]["fixable"] == len(marked) > 20
    fixed = subprocess.run([sys.executable, "-m", "gradsafe", "fix", ".", "--no-verify", "--format", "json", "-o",
                            str(tmp_path / "fix.json"), "--isolated", "--no-cache"], cwd=tmp_path, capture_output=True,
                           text=True, check=False)
    assert fixed.returncode in (0, 1), fixed.stderr
    report = json.loads((tmp_path / "fix.json").read_text())
    changed = {(f["path"], f["line"], f["code"]) for f in report["fixed"]}
    assert [m for m in marked if m not in changed] == []
    assert report["summary"]["fixable"] == 0
    after = gradsafe("check", ".", cwd=tmp_path)
    assert after["summary"]["fixable"] == 0 and applicable(after) == []
    # The unsafe ones are what `--unsafe-fixes` applies, no more, no less.
    unsafe = applicable(after, "unsafe")
    assert after["summary"]["unsafe_fixes_available"] == len(unsafe) > 0
    subprocess.run([sys.executable, "-m", "gradsafe", "fix", ".", "--no-verify", "--unsafe-fixes", "--isolated",
                    "--no-cache", "-q"], cwd=tmp_path, capture_output=True, text=True, check=False)
    final = gradsafe("check", ".", cwd=tmp_path)
    assert applicable(final, "unsafe") == [] and final["summary"]["unsafe_fixes_available"] == 0


def test_a_fix_the_pass_declines_is_not_fixable_in_check_and_says_why(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "analysis" / "pos_leaf_add.py", tmp_path / "leaf.py")
    shutil.copy(FIXTURES / "out_of_place" / "read_in_chain.py", tmp_path / "chain.py")
    report = gradsafe("check", ".", cwd=tmp_path)
    reasons = {f["path"]: f["unfixable_reason"] for f in report["findings"]}
    assert report["summary"]["fixable"] == 0
    assert "is not a local variable here" in reasons["leaf.py"]
    assert "read again later in the chain" in reasons["chain.py"]


MODEL = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.act = {construction}

    def forward(self, x):
        return self.act(torch.tanh(self.fc(x)))
"""


@pytest.mark.parametrize(
    ("construction", "rewritten", "description"),
    [
        ("nn.ReLU(inplace=True)", "nn.ReLU()", "construct `nn.ReLU()` without `inplace=True` (off by default)"),
        ("nn.ReLU(True)", "nn.ReLU()", "construct `nn.ReLU()` without `inplace=True` (off by default)"),
        ("nn.LeakyReLU(0.1, inplace=True)", "nn.LeakyReLU(0.1, inplace=False)", "construct `nn.LeakyReLU` with `inplace=False`"),
        ("nn.Dropout(0.1, True)", "nn.Dropout(0.1, False)", "construct `nn.Dropout` with `inplace=False`"),
    ],
)
def test_the_inplace_flag_description_says_what_the_rewrite_does(tmp_path: Path, construction: str, rewritten: str,
                                                                  description: str) -> None:
    (tmp_path / "m.py").write_text(MODEL.format(construction=construction))
    report = gradsafe("check", ".", cwd=tmp_path)
    assert [f["fix"]["description"] for f in report["findings"]] == [description]
    subprocess.run([sys.executable, "-m", "gradsafe", "fix", ".", "--no-verify", "--isolated", "--no-cache"],
                   cwd=tmp_path, capture_output=True, check=False)
    assert f"self.act = {rewritten}\n" in (tmp_path / "m.py").read_text()


def _fix_outputs():
    spec = importlib.util.spec_from_file_location("fix_outputs", ROOT / "scripts" / "fix_outputs.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["fix_outputs"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


ORIGINAL = """\
import torch
from torch import nn


class Act(nn.Module):
    def __init__(self, c=3):
        super().__init__()
        self.conv = nn.Conv2d(c, 4, 3)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.conv(x))


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        h = torch.sigmoid(self.fc(x))
        h *= 2
        return h


class Shift(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        y += 1
        return y


class Sized(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)

    def forward(self, x):
        y = self.fc(x)
        y += 1
        return y
"""


@pytest.mark.torch
def test_fix_outputs_tells_same_fixed_different_and_skipped(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    for side in ("before", "after"):
        (tmp_path / side / "pkg").mkdir(parents=True)
        (tmp_path / side / "pkg" / "__init__.py").write_text("")
    (tmp_path / "before" / "pkg" / "m.py").write_text(ORIGINAL)
    edited = (ORIGINAL.replace("nn.ReLU(inplace=True)", "nn.ReLU()").replace("        h *= 2", "        h = h * 2")
              .replace("        y += 1\n        return y\n\n\nclass Sized", "        y = y + 2\n        return y\n\n\nclass Sized")
              .replace("        y += 1\n        return y\n", "        y = y + 1\n        return y\n"))
    (tmp_path / "after" / "pkg" / "m.py").write_text(edited)
    checks = _fix_outputs().check_files(tmp_path / "before", tmp_path / "after", ["pkg/m.py"])
    status = {c.target: c.status for c in checks}
    assert status == {"Act": "same", "Gate": "fixed", "Shift": "different", "Sized": "skipped"}, checks
    assert "does not build with its defaults" in next(c.detail for c in checks if c.target == "Sized")
