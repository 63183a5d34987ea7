"""Fitting a polynomial by hand: update the weights under no_grad, then zero their gradients.

Pattern from: https://github.com/pytorch/tutorials/blob/main/beginner_source/examples_autograd/polynomial_autograd.py
In our words: four leaf tensors with `requires_grad=True`; after `loss.backward()` a
`with torch.no_grad():` block does `a -= learning_rate * a.grad` for each, and then the gradients
are cleared before the next iteration (here in place, with `a.grad.zero_()`). The updates are meant
to be invisible to autograd.
"""
import math

import torch

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "leaf-update-under-no-grad-and-grad-zero",
    "expect": "runs",
    "report": "https://github.com/pytorch/tutorials/blob/main/beginner_source/examples_autograd/polynomial_autograd.py",
}


def run():
    torch.manual_seed(0)
    x = torch.linspace(-math.pi, math.pi, 20, dtype=torch.float64)
    y = torch.sin(x)
    a = torch.randn((), dtype=torch.float64, requires_grad=True)
    b = torch.randn((), dtype=torch.float64, requires_grad=True)
    c = torch.randn((), dtype=torch.float64, requires_grad=True)
    d = torch.randn((), dtype=torch.float64, requires_grad=True)
    learning_rate = 1e-4
    for _ in range(5):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad.zero_()
            b.grad.zero_()
            c.grad.zero_()
            d.grad.zero_()
    return {"loss": loss.detach(), "a": a, "b": b, "c": c, "d": d}
