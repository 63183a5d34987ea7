"""Comparing two sets of named values (see ``values``) and saying what differed and by how much.

Closeness is ``torch.isclose`` (``|a - b| <= atol + rtol * |b|``, NaNs equal to NaNs), the rule
``torch.testing.assert_close`` uses; the expected side is the original or the reference.  Float64
values use the configured tolerances.  Lower-precision values use ``torch.testing``'s defaults for
their dtype where those are looser, since they cannot be equal to more digits than they hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from gradsafe.verify.verdicts import Mismatch

# torch.testing.assert_close's defaults: dtype -> (rtol, atol)
_DTYPE_DEFAULTS = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.complex64: (1.3e-6, 1e-5),
}


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float

    def for_dtype(self, dtype: torch.dtype) -> tuple[float, float]:
        rtol, atol = _DTYPE_DEFAULTS.get(dtype, (0.0, 0.0))
        return max(self.rtol, rtol), max(self.atol, atol)


def compare(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    tolerance: Tolerance,
    label: Callable[[str], str] = str,
) -> list[Mismatch]:
    """Mismatches between two captures, in ``expected``'s order, then entries only ``actual`` has."""
    mismatches: list[Mismatch] = []
    for name, want in expected.items():
        if name not in actual:
            mismatches.append(Mismatch(label(name), note="missing in the rewrite"))
            continue
        mismatch = compare_value(label(name), want, actual[name], tolerance)
        if mismatch is not None:
            mismatches.append(mismatch)
    mismatches += [Mismatch(label(name), note="only in the rewrite") for name in actual if name not in expected]
    return mismatches


def compare_value(name: str, want: Any, got: Any, tolerance: Tolerance) -> Mismatch | None:
    if isinstance(want, torch.Tensor) or isinstance(got, torch.Tensor):
        if not (isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor)):
            return Mismatch(name, note=f"{_kind(want)} vs {_kind(got)}")
        return compare_tensors(name, want, got, tolerance)
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        if math.isclose(want, got, rel_tol=tolerance.rtol, abs_tol=tolerance.atol) or (
            math.isnan(want) and math.isnan(got)
        ):
            return None
        return Mismatch(name, max_abs=abs(want - got), max_rel=_relative(abs(want - got), abs(want)))
    if type(want) is not type(got) or want != got:
        return Mismatch(name, note=f"{_short(want)} vs {_short(got)}")
    return None


def compare_tensors(name: str, want: torch.Tensor, got: torch.Tensor, tolerance: Tolerance) -> Mismatch | None:
    if want.shape != got.shape:
        return Mismatch(name, note=f"shape {tuple(want.shape)} vs {tuple(got.shape)}")
    if want.dtype != got.dtype and (want.is_floating_point() != got.is_floating_point() or want.is_complex()):
        return Mismatch(name, note=f"dtype {want.dtype} vs {got.dtype}")
    if want.numel() == 0:
        return None
    rtol, atol = tolerance.for_dtype(want.dtype if want.dtype.itemsize <= got.dtype.itemsize else got.dtype)
    a = want.detach().to(torch.complex128 if want.is_complex() else torch.float64)
    b = got.detach().to(a.dtype)
    if torch.isclose(b, a, rtol=rtol, atol=atol, equal_nan=True).all():
        return None
    diff = (a - b).abs()
    diff = torch.where(torch.isnan(a) & torch.isnan(b), torch.zeros_like(diff), diff)
    diff = torch.nan_to_num(diff, nan=math.inf)
    flat = int(diff.argmax())
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), a.shape)) if a.dim() else ()
    max_abs = float(diff.reshape(-1)[flat])
    reference = a.abs()
    rel = torch.where(reference > 0, diff / reference, torch.where(diff > 0, math.inf, 0.0))
    return Mismatch(name, max_abs=max_abs, max_rel=float(rel.max()), index=index)


def _relative(difference: float, reference: float) -> float:
    return difference / reference if reference else (math.inf if difference else 0.0)


def _kind(value: Any) -> str:
    return "tensor" if isinstance(value, torch.Tensor) else type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
