"""The judge against its fixtures, and the fixtures against torch.

Static half: the analysis must report exactly the ``# expect: CODE`` lines of each fixture
(default policy, default-enabled rules) — every positive found, every negative silent.

Torch half: each fixture's ``run()`` must behave as the fixture claims, so the fixtures cannot
drift from what torch really does: positives really raise (or are really silently wrong compared
with a correct ``reference()``), negatives really run (and match their reference).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from gradsafe.analysis import analyse
from gradsafe.rules import get_rule
from gradsafe.files.source import SourceFile

FIXTURES = Path(__file__).parent.parent / "fixtures" / "analysis"
CASES = sorted(FIXTURES.glob("*.py"))
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


def expected_findings(text: str) -> set[tuple[int, str]]:
    found = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _EXPECT.search(line)
        if m:
            for code in m.group(1).split(","):
                found.add((lineno, code.strip()))
    return found


def reported_findings(path: Path) -> set[tuple[int, str]]:
    source = SourceFile.from_bytes(path.read_bytes(), path)
    findings = analyse(source)
    return {(f.span.line, f.code) for f in findings if get_rule(f.code) and get_rule(f.code).default_enabled}


def test_fixture_suite_covers_every_mechanism():
    codes = set()
    for path in CASES:
        codes |= {code for _, code in expected_findings(path.read_text())}
    assert {"GS101", "GS102", "GS201", "GS202", "GS203", "GS204", "GS205", "GS301", "GS302", "GS401", "GS402",
            "GS501", "GS502"} <= codes
    assert sum(p.name.startswith("neg_") for p in CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_analysis_reports_exactly_the_expected_lines(path: Path):
    expected = expected_findings(path.read_text())
    if path.name.startswith("neg_"):
        assert not expected, "negative fixtures must not carry expectations"
    assert reported_findings(path) == expected


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.torch
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_fixture_behaves_as_claimed_under_torch(path: Path):
    torch = pytest.importorskip("torch")
    module = _load(path)
    error = getattr(module, "EXPECTED_ERROR", None)
    if error is not None:
        with pytest.raises(RuntimeError, match=re.escape(error)):
            module.run()
        return
    result = module.run()
    if getattr(module, "SILENTLY_WRONG", False):
        reference = module.reference()
        assert any(not torch.allclose(a, b) for a, b in zip(result, reference)), "the original is not wrong"
    elif hasattr(module, "reference"):
        for a, b in zip(result, module.reference()):
            torch.testing.assert_close(a, b)
