"""The small repository of real findings that the report-format tests run gradsafe on.

``tests/fixtures/reports/repo`` holds copies of analysis fixtures (real hazards, found by the real
analysis) in a layout with a subpackage and a directory name with a space; a file with a syntax
error is added at run time so that no tool trips over it in the source tree.

The rewrite passes are pinned to the test pass of ``fake_fixes`` (``y.add_(a)`` becomes
``y = y.add(a)``; other fixes have no pass): the report tests are about the formats, and must not
change whenever a real pass learns something new (the passes have their own tests).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.fake_fixes import FakePass
from typer.testing import CliRunner

import gradsafe.fix.loop
import gradsafe.transforms
from gradsafe.cli import app
from gradsafe.findings import FixKind

REPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
REPO = REPORTS / "repo"
BROKEN = "def f(:\n    pass\n"


def pin_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gradsafe.fix.loop, "pass_kinds", lambda: frozenset({FixKind.OUT_OF_PLACE}))
    monkeypatch.setattr(gradsafe.transforms, "_PASSES", {FixKind.OUT_OF_PLACE: FakePass()})


def make_repo(destination: Path) -> Path:
    """A fresh copy of the repository (with ``broken.py``) at ``destination``."""
    shutil.copytree(REPO, destination)
    (destination / "broken.py").write_text(BROKEN)
    return destination


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)
