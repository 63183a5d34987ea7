"""torch.func.vjp of a normalising function that centres its argument in place.

Reproduces: https://github.com/pytorch/pytorch/issues/52390
In our words: taking a vector-Jacobian product of a function that mutates its own input is
ill-defined (the reporter got the gradient of the identity instead of sin's). torch.func.vjp
wraps the primal as a leaf that requires grad, so a helper that does `v.sub_(v.mean())` on its
argument cannot even run.
"""
import torch
from torch.func import vjp

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "func-vjp-function-mutates-input",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/pytorch/pytorch/issues/52390",
}


def unit_direction(v):
    v.sub_(v.mean())
    return v / v.norm()


def run():
    torch.manual_seed(0)
    x = torch.randn(4, dtype=torch.float64)
    cotangent = torch.randn(4, dtype=torch.float64)
    out, pullback = vjp(unit_direction, x)
    (grad_x,) = pullback(cotangent)
    return {"out": out, "grad_x": grad_x}
