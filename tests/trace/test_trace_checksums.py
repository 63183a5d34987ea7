"""`gradsafe trace --checksum-saved`: saved tensors whose bytes change with no torch op (GS603).

Each program runs in-process under the detector, with and without checksums; the saved tensor's
line is marked `# <- save` in this file and found by the marker, never written as a number.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
np = pytest.importorskip("numpy")

from gradsafe.trace import run_traced  # noqa: E402
from gradsafe.trace.runtime.checksums import checksum  # noqa: E402
from gradsafe.trace.runtime.detector import Detector, InplaceHazard  # noqa: E402
from gradsafe.trace.runtime.events import UNSEEN_WRITE, Event  # noqa: E402

pytestmark = pytest.mark.torch

HERE = Path(__file__).resolve()


def saved_line(program: Callable[[], object]) -> int:
    lines, start = inspect.getsourcelines(program)
    hits = [start + i for i, text in enumerate(lines) if re.search(r"#\s*<-\s*save\s*$", text)]
    assert len(hits) == 1
    return hits[0]


def trace(program: Callable[[], object], *, checksum_saved: bool = True) -> tuple[list[Event], object]:
    with Detector(HERE.parent, checksum_saved=checksum_saved) as detector:
        result = program()
    return [event for event, _ in detector.events], result


# ---------------------------------------------------------------------- hazards
def numpy_view_clipped() -> torch.Tensor:
    torch.manual_seed(0)
    w = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    x = 2 * torch.randn(6, 3, dtype=torch.float64)
    probs = torch.sigmoid(x @ w)  # <- save
    p = probs.detach().numpy()
    np.clip(p, 0.25, 0.75, out=p)
    probs.sum().backward()
    return w.grad


def from_numpy_buffer_refilled() -> torch.Tensor:
    torch.manual_seed(0)
    buffer = np.ones((4, 3))
    w = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    x = torch.from_numpy(buffer)
    loss = (x @ w).pow(2).sum()  # <- save
    buffer[...] = 5.0  # the next batch, before backward
    loss.backward()
    return w.grad


@pytest.mark.parametrize("program", [numpy_view_clipped, from_numpy_buffer_refilled], ids=lambda p: p.__name__)
def test_a_write_outside_torch_is_reported_at_the_save(program: Callable[[], torch.Tensor]) -> None:
    events, grad = trace(program)
    unseen = [e for e in events if e.code == UNSEEN_WRITE]
    assert unseen and {e.saved_at.line for e in unseen if e.saved_at} == {saved_line(program)}
    assert all(e.saved_at is not None and Path(e.saved_at.path) == HERE for e in unseen)
    # The traced program computes exactly what it computes untraced (the same wrong gradient).
    torch.testing.assert_close(grad, program())


@pytest.mark.parametrize("program", [numpy_view_clipped, from_numpy_buffer_refilled], ids=lambda p: p.__name__)
def test_without_the_option_the_write_stays_unseen(program: Callable[[], torch.Tensor]) -> None:
    events, _ = trace(program, checksum_saved=False)
    assert events == []


def test_the_gradient_really_is_wrong() -> None:
    torch.manual_seed(0)
    w = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    x = 2 * torch.randn(6, 3, dtype=torch.float64)
    torch.sigmoid(x @ w).sum().backward()
    assert not torch.allclose(w.grad, numpy_view_clipped())


def test_stop_at_first_raises_when_backward_reads_the_changed_tensor() -> None:
    with pytest.raises(InplaceHazard, match="GS603"):
        with Detector(HERE.parent, checksum_saved=True, stop_at_first=True):
            numpy_view_clipped()


# ---------------------------------------------------------------------- silent
def numpy_copy_clipped() -> None:
    w = torch.randn(3, 1, requires_grad=True)
    probs = torch.sigmoid(torch.randn(6, 3) @ w)
    p = probs.detach().numpy().copy()
    np.clip(p, 0.25, 0.75, out=p)
    probs.sum().backward()


def batch_norm_running_stats() -> None:
    bn = torch.nn.BatchNorm1d(3)
    for _ in range(2):
        bn(torch.randn(5, 3, requires_grad=True)).sum().backward()


def written_after_backward() -> None:
    w = torch.randn(3, 1, requires_grad=True)
    probs = torch.sigmoid(torch.randn(6, 3) @ w)
    probs.sum().backward()
    probs.detach().numpy()[:] = 0.0


def torch_writes_other_bytes() -> None:
    w = torch.randn(3, 1, requires_grad=True)
    buffer = torch.zeros(2, 6, 3)
    first = buffer[0]
    loss = (first @ w).sum()
    buffer.numpy()[1] = 7.0  # bytes the saved tensor does not view
    loss.backward()


@pytest.mark.parametrize(
    "program", [numpy_copy_clipped, batch_norm_running_stats, written_after_backward, torch_writes_other_bytes],
    ids=lambda p: p.__name__,
)
def test_no_unseen_write_no_report(program: Callable[[], None]) -> None:
    events, _ = trace(program)
    assert events == []


def data_write() -> None:
    w = torch.randn(3, 1, requires_grad=True)
    probs = torch.sigmoid(torch.randn(6, 3) @ w)
    probs.data.mul_(0.5)
    probs.sum().backward()


def test_a_write_torch_made_is_judged_by_its_own_rule_only() -> None:
    events, _ = trace(data_write)
    assert [e.code for e in events] == ["GS401"]


def test_a_versioned_write_still_raises_torchs_error() -> None:
    def program() -> None:
        w = torch.randn(3, requires_grad=True)
        s = torch.sigmoid(w)
        s.mul_(2)
        s.sum().backward()

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        trace(program)


# ---------------------------------------------------------------------- the checksum itself
def test_the_checksum_covers_exactly_the_viewed_bytes() -> None:
    base = torch.arange(12.0).reshape(3, 4)
    column = base[:, 1]
    before = checksum(column)
    base[0, 0] = 100.0  # not viewed
    assert checksum(column) == before
    base[2, 1] = 100.0  # viewed
    assert checksum(column) != before
    assert checksum(torch.empty(0)) == 0
    assert checksum(torch.randn(2).to_sparse()) is None


def test_the_option_reaches_a_traced_process(tmp_path: Path) -> None:
    program = tmp_path / "prog.py"
    program.write_text(
        "import numpy as np, torch\n"
        "w = torch.randn(3, 1, requires_grad=True)\n"
        "probs = torch.sigmoid(torch.randn(6, 3) @ w)\n"
        "probs.detach().numpy()[:] = 0.5\n"
        "probs.sum().backward()\n",
        encoding="utf-8",
    )
    seen = run_traced([sys.executable, str(program)], root=tmp_path, cwd=tmp_path, capture=True, timeout=120,
                      checksum_saved=True)
    assert [(f.finding.code, f.finding.span.line) for f in seen.findings] == [("GS603", 3)]
    plain = run_traced([sys.executable, str(program)], root=tmp_path, cwd=tmp_path, capture=True, timeout=120)
    assert plain.findings == [] and plain.returncode == 0
