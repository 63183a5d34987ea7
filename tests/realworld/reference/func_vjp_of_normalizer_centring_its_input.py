"""Reference: the helper centres out of place."""
import sys
from pathlib import Path

import torch
from torch.func import vjp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def unit_direction(v):
    v = v - v.mean()
    return v / v.norm()


def run():
    torch.manual_seed(0)
    x = torch.randn(4, dtype=torch.float64)
    cotangent = torch.randn(4, dtype=torch.float64)
    out, pullback = vjp(unit_direction, x)
    (grad_x,) = pullback(cotangent)
    return {"out": out, "grad_x": grad_x}


def oracle():
    torch.manual_seed(0)
    x = torch.randn(4, dtype=torch.float64)
    cotangent = torch.randn(4, dtype=torch.float64)

    def f():
        c = x - x.mean()
        return c / torch.sqrt((c * c).sum())

    def projected():
        return (f() * cotangent).sum()

    return {"out": f(), "grad_x": kit.finite_difference(projected, x)}
