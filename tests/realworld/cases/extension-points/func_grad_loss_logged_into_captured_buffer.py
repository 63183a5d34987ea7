"""A loss function passed to torch.func.grad logs each loss into a tensor it closes over, in place.

Reproduces: https://github.com/pytorch/pytorch/issues/85533
In our words: function transforms (grad, vjp, jacrev) refuse in-place writes to tensors the
transformed function captures from outside, which is what BatchNorm's running-statistics update
hit there. Here a functional training step keeps a running sum of losses in a captured tensor
and adds to it from inside the function handed to torch.func.grad.
"""
import torch
from torch.func import grad

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "func-transform-mutates-captured-tensor",
    "expect": "raises",
    "error": "During a grad (vjp, jvp, grad, etc) transform",
    "report": "https://github.com/pytorch/pytorch/issues/85533",
}

loss_history = torch.zeros(1, dtype=torch.float64)


def mse(weight, x, y):
    loss = ((x @ weight - y) ** 2).mean()
    loss_history.add_(loss.detach())
    return loss


def run():
    torch.manual_seed(0)
    loss_history.zero_()
    weight = torch.randn(3, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, dtype=torch.float64)
    for _ in range(2):
        weight = weight - 0.1 * grad(mse)(weight, x, y)
    return {"weight": weight, "loss_history": loss_history.clone()}
