"""The harness of the rewrite-pass tests: fixture pairs run under torch (values and gradients
against the original), and applying one fix by hand to a snippet."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import libcst as cst
import pytest

from gradsafe.findings import Fix, FixKind, FixSafety, Span
from gradsafe.transforms import PassResult, get_pass

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXED = ".fixed.py"


# ---------------------------------------------------------------------- the run harness
def fixture_pairs(pass_dir: str) -> list[Path]:
    """The ``<case>.py`` files of a pass that have a ``<case>.fixed.py``."""
    directory = FIXTURES / pass_dir
    sources = (p for p in directory.glob("*.py") if not p.name.endswith(FIXED))
    return sorted(p for p in sources if p.with_name(p.stem + FIXED).exists())


def load(path: Path) -> ModuleType:
    name = f"_fixture_{path.parent.name}_{path.name.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def float64() -> Iterator[None]:
    """Tensors and modules the fixture creates itself are float64 too, for finite differences."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _seeded(fn: Callable[..., Any]) -> Callable[..., Any]:
    import torch

    def call(*args: Any) -> Any:
        torch.manual_seed(0)  # the same dropout masks in every evaluation
        return fn(*args)

    return call


def _inputs(module: ModuleType) -> list[Any]:
    import torch

    torch.manual_seed(0)
    return [x.to(torch.float64) for x in module.inputs()]


def _cotangent(out: Any) -> Any:
    import torch

    return torch.randn(out.shape, generator=torch.Generator().manual_seed(1234), dtype=out.dtype)


def autograd_result(compute: Callable[..., Any], inputs: Sequence[Any]) -> tuple[Any, list[Any]]:
    """Output and input gradients (for a fixed random cotangent) of ``compute``, by autograd."""
    import torch

    xs = [x.detach().clone().requires_grad_() for x in inputs]
    out = _seeded(compute)(*xs)
    out.backward(_cotangent(out))
    return out.detach(), [x.grad if x.grad is not None else torch.zeros_like(x) for x in xs]


def finite_differences(compute: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6) -> tuple[Any, list[Any]]:
    """Output and input gradients of ``compute`` by central differences, evaluated under ``no_grad``.

    Every evaluation gets fresh copies of the inputs: code that writes its inputs in place would
    otherwise corrupt them between evaluations.
    """
    import torch

    fn = _seeded(compute)
    with torch.no_grad():
        out = fn(*[x.clone() for x in inputs])
        cotangent = _cotangent(out)
        grads = []
        for i, x in enumerate(inputs):
            grad = torch.zeros_like(x)
            for j in range(x.numel()):
                values = []
                for step in (eps, -eps):
                    shifted = [t.clone() for t in inputs]
                    shifted[i].view(-1)[j] += step
                    values.append((fn(*shifted) * cotangent).sum())
                grad.view(-1)[j] = (values[0] - values[1]) / (2 * eps)
            grads.append(grad)
    return out, grads


def check_run_pair(source: Path) -> None:
    """Run ``source`` and its ``.fixed.py`` on the same inputs and compare (see the module docstring)."""
    torch = pytest.importorskip("torch")
    original, rewritten = load(source), load(source.with_name(source.stem + FIXED))
    with float64():
        inputs = _inputs(original)
        out, grads = autograd_result(rewritten.compute, inputs)
        raises = getattr(original, "ORIGINAL_RAISES", None)
        if raises is not None:
            with pytest.raises(RuntimeError, match=re.escape(raises)):
                autograd_result(original.compute, inputs)
            expected_out, expected_grads = finite_differences(original.compute, inputs)
            tolerance = {"rtol": 1e-5, "atol": 1e-6}
        elif getattr(original, "ORIGINAL_SILENTLY_WRONG", False):
            _, wrong_grads = autograd_result(original.compute, inputs)
            expected_out, expected_grads = finite_differences(original.compute, inputs)
            assert any(not torch.allclose(w, e, atol=1e-4) for w, e in zip(wrong_grads, expected_grads, strict=True)), (
                "the fixture says the original's gradient is wrong, but it matches finite differences")
            tolerance = {"rtol": 1e-5, "atol": 1e-6}
        else:
            expected_out, expected_grads = autograd_result(original.compute, inputs)
            tolerance = {}
    torch.testing.assert_close(out, expected_out, **tolerance)
    for got, expected in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, expected, **tolerance)


# ---------------------------------------------------------------------- applying a fix by hand
def code(text: str) -> str:
    """Source text written indented inside a test, as it would be in a file."""
    return textwrap.dedent(text).lstrip("\n")


def load_text(text: str, name: str) -> ModuleType:
    module = ModuleType(f"_fixture_text_{name}")
    exec(compile(text, f"<{name}>", "exec"), module.__dict__)
    return module


def span_of(source: str, text: str, occurrence: int = 0) -> Span:
    """The span of the ``occurrence``-th appearance of ``text`` in ``source`` (character columns)."""
    start = -1
    for _ in range(occurrence + 1):
        start = source.index(text, start + 1)
    end = start + len(text)
    line = source.count("\n", 0, start) + 1
    col = start - (source.rfind("\n", 0, start) + 1)
    end_line = source.count("\n", 0, end) + 1
    end_col = end - (source.rfind("\n", 0, end) + 1)
    return Span(line, col, end_line, end_col)


def apply(kind: FixKind, source: str, fixes: Sequence[tuple[Span, dict[str, Any]]]) -> PassResult:
    """Run the pass for ``kind`` on ``source``; fixes are (target span, params), described "0", "1", ..."""
    rewrite_pass = get_pass(kind)
    assert rewrite_pass is not None
    planned = [Fix(kind, span, str(i), FixSafety.SAFE, params) for i, (span, params) in enumerate(fixes)]
    return rewrite_pass.apply(cst.parse_module(source), planned)


def rewrite(kind: FixKind, source: str, target: str, **params: Any) -> str:
    """The rewritten source (which must compile); fails if the pass declined."""
    result = apply(kind, source, [(span_of(source, target), params)])
    assert not result.declined, result.declined
    assert len(result.applied) == 1
    compile(result.module.code, "<rewritten>", "exec")
    return result.module.code


def declined(kind: FixKind, source: str, target: str, **params: Any) -> str:
    """The reason the pass declined; fails if it changed anything."""
    result = apply(kind, source, [(span_of(source, target), params)])
    assert not result.applied and result.module.code == source
    ((_, reason),) = result.declined
    return reason


def method(name: str | None, op: str, *, read_later: bool = True, **extra: Any) -> dict[str, Any]:
    """The parameters of a method-form fix, ``op`` being the in-place method (``"add_"``)."""
    return {"form": "method", "name": name, "method": op, "replacement": op.rstrip("_"), "read_later": read_later,
            **extra}


def augmented(name: str, operator: str) -> dict[str, Any]:
    return {"form": "augassign", "name": name, "operator": operator, "read_later": True}
