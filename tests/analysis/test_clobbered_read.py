"""GS602 under torch: the fixture pairs' originals compute something else than the author meant,
and the unsafe rewrite (the inplace flag turned off) computes a reference written out by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from gradsafe.analysis import analyse
from gradsafe.files.source import SourceFile

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

PAIRS = Path(__file__).parent.parent / "fixtures" / "inplace_flag"


def _load(name: str) -> ModuleType:
    path = PAIRS / name
    spec = importlib.util.spec_from_file_location(f"pair_{path.stem.replace('.', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _codes(name: str) -> list[tuple[int, str, bool]]:
    path = PAIRS / name
    found = analyse(SourceFile.from_bytes(path.read_bytes(), path))
    return [(f.span.line, f.code, f.fix is not None and f.fix.unsafe) for f in found]


def test_call_pair() -> None:
    before, after = _load("clobbered_skip_call.py"), _load("clobbered_skip_call.fixed.py")
    x = torch.randn(5, 2, dtype=torch.float64)
    outs = []
    for module in (before, after):
        torch.manual_seed(0)
        block = module.ResidualMLP(3).double()
        outs.append(block(x))
    torch.manual_seed(0)
    ref = before.ResidualMLP(3).double()
    a = x @ ref.inp.weight.t() + ref.inp.bias
    reference = a + (torch.clamp(a, min=0) @ ref.fc.weight.t() + ref.fc.bias)
    assert not torch.allclose(outs[0], reference)  # the original adds relu(a), not a
    torch.testing.assert_close(outs[1], reference)
    outs[1].sum().backward()
    assert [c for _, c, unsafe in _codes("clobbered_skip_call.py") if unsafe] == ["GS602"]
    assert _codes("clobbered_skip_call.fixed.py") == []


def test_construction_pair() -> None:
    before, after = _load("clobbered_skip_construction.py"), _load("clobbered_skip_construction.fixed.py")
    x = torch.randn(6, 3, dtype=torch.float64)
    results = []
    for module in (before, after):
        torch.manual_seed(0)
        block, pre = module.Block(3).double(), module.PreActivation(3).double()
        results.append((block(x.clone()), pre(x.clone())))
    torch.manual_seed(0)
    block, pre = before.Block(3).double(), before.PreActivation(3).double()
    h = torch.relu(x) @ block.fc1.weight.t() + block.fc1.bias
    h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + block.bn.eps) * block.bn.weight + block.bn.bias
    block_ref = x + (torch.relu(h) @ block.fc2.weight.t() + block.fc2.bias)
    pre_ref = x + (torch.relu(x) @ pre.body[1].weight.t() + pre.body[1].bias)
    for got, want in zip(results[0], (block_ref, pre_ref)):
        assert not torch.allclose(got, want)
    for got, want in zip(results[1], (block_ref, pre_ref)):
        torch.testing.assert_close(got, want)
    assert sorted(c for _, c, unsafe in _codes("clobbered_skip_construction.py") if unsafe) == ["GS602", "GS602"]
    assert _codes("clobbered_skip_construction.fixed.py") == []
