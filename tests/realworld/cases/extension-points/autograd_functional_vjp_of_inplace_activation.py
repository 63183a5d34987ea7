"""torch.autograd.functional.vjp with create_graph=True of an activation that works in place.

Reproduces: https://github.com/pytorch/pytorch/issues/52390
In our words: with create_graph=True, autograd.functional.vjp hands the function a differentiable
alias of the input; an activation written with `tanh_()` overwrites it, and the vjp comes out as
the derivative of the identity. Nothing fails; the gradient penalty built on it is just wrong.
"""
import torch
from torch.autograd.functional import vjp

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "autograd-functional-vjp-function-mutates-input",
    "expect": "silent",
    "report": "https://github.com/pytorch/pytorch/issues/52390",
}


def squash(z):
    return z.tanh_()


def run():
    torch.manual_seed(0)
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    v = torch.ones(4, dtype=torch.float64)
    out, slope = vjp(squash, x.clone(), v, create_graph=True)
    penalty = (slope**2).sum()
    return {"out": out.detach(), "slope": slope.detach(), "penalty": penalty.detach()}
