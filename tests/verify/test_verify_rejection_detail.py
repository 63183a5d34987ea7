"""A rejected rewrite says where the error that remains comes from, even when it is not in the
rewritten file: the forward op whose saved tensor is still modified (issue: "rejected" lines)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gradsafe.cli import app

pytestmark = pytest.mark.torch

UTILS = """
def squash(t):
    out = t.exp()
    out.add_(1)
    return out
"""

MODEL = """
import torch
from torch import nn

from utils import squash


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        h = torch.sigmoid(self.lin(x))
        h.mul_(2)
        return squash(h)
"""


def test_the_remaining_error_names_the_line_that_saved_the_tensor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "utils.py").write_text(textwrap.dedent(UTILS).lstrip(), encoding="utf-8")
    (tmp_path / "model.py").write_text(textwrap.dedent(MODEL).lstrip(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # Only model.py is checked: the hazard in utils.py is not reported, so the fix of model.py
    # cannot be verified, and the reason must lead the user to utils.py.
    result = CliRunner().invoke(app, ["diff", "--isolated", "--no-cache", "model.py"])
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "GS101 not fixed" in line)
    assert "verification rejected the rewrite: the rewrite still raises RuntimeError" in line
    assert line.endswith("(the tensor was saved for backward at utils.py:2)")
