"""Verification of a write into an ``expand``ed view: the reference gives each expanded view its own memory.

The original raises at the write whether or not grad is on, so its no-grad run cannot be the
reference; ``PrivateExpandedViews`` (the clone torch's error asks for) is.  A rewrite that writes
elsewhere must still be rejected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from gradsafe.verify import FileChange, Verdict, VerifySettings, WorkerPool, verify  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURES = Path(__file__).parent.parent / "fixtures" / "verify"


def _verdict(replace: tuple[str, str] | None = None) -> tuple[Verdict, str]:
    original = (FIXTURES / "expanded_mask.py").read_text(encoding="utf-8")
    rewritten = (FIXTURES / "expanded_mask.rewritten.py").read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in rewritten
        rewritten = rewritten.replace(*replace)
    with WorkerPool() as pool:
        [verdict] = verify([FileChange(FIXTURES / "expanded_mask.py", original, rewritten)],
                           VerifySettings(timeout=30.0), root=FIXTURES, pool=pool)
    return verdict.verdict, verdict.detail


def test_the_clone_before_the_write_is_repaired() -> None:
    verdict, detail = _verdict()
    assert verdict is Verdict.REPAIRED, detail
    assert "more than one element" in detail and "expanded view given its own memory" in detail


def test_a_rewrite_that_zeroes_another_row_is_rejected() -> None:
    verdict, detail = _verdict(("mask[0] = 0.0", "mask[-1] = 0.0"))
    assert verdict is Verdict.REJECTED, detail
