"""How the fix loop groups fixes into rounds, with the real analysis and passes.

Out-of-place rewrites of different names in one function share a round; fixes of one name wait
for the re-analysis (``gradsafe.fix.loop._independent_key``).  Grouping is only a matter of cost:
the final text must be what one fix per function and round gives, on every fixture and real-world case.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gradsafe.analysis import analyse
from gradsafe.files.source import SourceFile
from gradsafe.fix import loop
from gradsafe.fix.loop import fix_text

TESTS = Path(__file__).resolve().parent.parent
CORPORA = (TESTS / "fixtures", TESTS / "realworld" / "cases", TESTS / "realworld" / "reference")


def find(text: str):
    return analyse(SourceFile.from_text(text))


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_out_of_place_fixes_of_different_names_share_a_round() -> None:
    text = src(
        """
        import torch
        from torch import nn


        class Head(nn.Module):
            def forward(self, x):
                gate = torch.sigmoid(x)
                gate.mul_(2.0)
                act = torch.tanh(x)
                act.add_(1.0)
                return gate * act
        """
    )
    result = fix_text(text, find)
    assert [(a.before, a.iteration) for a in result.applied] == [("gate.mul_(2.0)", 0), ("act.add_(1.0)", 0)]
    assert result.iterations == 1
    assert "gate = gate.mul(2.0)" in result.text and "act = act.add(1.0)" in result.text


def test_fixes_of_one_name_wait_for_the_reanalysis() -> None:
    text = src(
        """
        import torch
        from torch import nn


        class Head(nn.Module):
            def forward(self, x):
                y = torch.sigmoid(x)
                y.mul_(2.0)
                y.add_(1.0)
                return y
        """
    )
    result = fix_text(text, find)
    # After `y = y.mul(2.0)` the tensor is fresh: the add_ is no longer a hazard and stays.
    assert [a.before for a in result.applied] == ["y.mul_(2.0)"]
    assert "y.add_(1.0)" in result.text


def _fixture_sources() -> list[Path]:
    return sorted(p for corpus in CORPORA for p in corpus.rglob("*.py")
                  if not p.name.endswith(".fixed.py") and "reports" not in p.parts)


def test_grouping_gives_the_text_of_one_fix_per_round(monkeypatch: pytest.MonkeyPatch) -> None:
    grouped: dict[Path, str] = {}
    rounds: dict[Path, int] = {}
    paths = []
    for path in _fixture_sources():
        try:
            text = path.read_text(encoding="utf-8")
            compile(text, str(path), "exec")
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        result = fix_text(text, find)
        grouped[path], rounds[path] = result.text, result.iterations
        paths.append(path)
    monkeypatch.setattr(loop, "_independent_key", lambda finding: None)
    changed = [p for p in paths if grouped[p] != p.read_text(encoding="utf-8")]
    assert len(changed) > 50  # the comparison means something
    fewer_rounds = 0
    for path in paths:
        result = fix_text(path.read_text(encoding="utf-8"), find)
        assert result.text == grouped[path], path
        fewer_rounds += rounds[path] < result.iterations
    assert fewer_rounds >= 2  # grouping happened (the torch sources under --policy strict: bench/fix_speed.py)
