"""Reference: the activation is out of place."""
import sys
from pathlib import Path

import torch
from torch.autograd.functional import vjp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def squash(z):
    return z.tanh()


def run():
    torch.manual_seed(0)
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    v = torch.ones(4, dtype=torch.float64)
    out, slope = vjp(squash, x.clone(), v, create_graph=True)
    penalty = (slope**2).sum()
    return {"out": out.detach(), "slope": slope.detach(), "penalty": penalty.detach()}


def oracle():
    torch.manual_seed(0)
    x = torch.randn(4, dtype=torch.float64)

    def total():
        return torch.tanh(x).sum()

    slope = kit.finite_difference(total, x)
    return {"out": torch.tanh(x), "slope": slope, "penalty": (slope**2).sum()}
