"""A logistic recurrence f(n) = sigmoid(f(n-1) * x) fills a preallocated tensor element by element.

Reproduces: https://github.com/pytorch/pytorch/issues/36470
In our words: the user wanted the gradient of the sum of a recurrence with respect to its
parameter, wrote each term into a preallocated `torch.zeros` with `f[i] = f[i-1] * x` and then
applied the sigmoid in place, and autograd.grad raised. Here the same recurrence, with two
parameters, is written into an output buffer.
"""
import torch

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "preallocated-output-recurrence",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/36470",
}


def recurrence(x, bias, steps, start=1.0):
    f = torch.zeros(steps, dtype=torch.float64)
    f[0] = start
    for i in range(1, steps):
        f[i] = f[i - 1] * x + bias
        f[i] = 1 / (1.0 + torch.exp(-f[i]))
    return f


def run():
    torch.manual_seed(0)
    x = torch.tensor([0.8], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([-0.3], dtype=torch.float64, requires_grad=True)
    f = recurrence(x, bias, 6)
    loss = f.sum()
    gx, gb = torch.autograd.grad(loss, [x, bias])
    return {"f": f.detach(), "x.grad": gx, "bias.grad": gb}
