"""Reference for logistic_recurrence_into_preallocated_output: collect the terms in a list, stack at the end."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def recurrence(x, bias, steps, start=1.0):
    terms = [torch.full((1,), start, dtype=torch.float64)]
    for i in range(1, steps):
        z = terms[-1] * x + bias
        terms.append(1 / (1.0 + torch.exp(-z)))
    return torch.cat(terms)


def run():
    torch.manual_seed(0)
    x = torch.tensor([0.8], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([-0.3], dtype=torch.float64, requires_grad=True)
    f = recurrence(x, bias, 6)
    loss = f.sum()
    gx, gb = torch.autograd.grad(loss, [x, bias])
    return {"f": f.detach(), "x.grad": gx, "bias.grad": gb}


def oracle():
    """The recurrence in plain Python floats, gradients by central differences."""
    x = torch.tensor([0.8], dtype=torch.float64)
    bias = torch.tensor([-0.3], dtype=torch.float64)

    def values():
        f = [1.0]
        for _ in range(1, 6):
            f.append(float(torch.sigmoid(torch.tensor(f[-1] * float(x) + float(bias), dtype=torch.float64))))
        return torch.tensor(f, dtype=torch.float64)

    def loss():
        return values().sum()

    return {"f": values(), "x.grad": kit.finite_difference(loss, x), "bias.grad": kit.finite_difference(loss, bias)}
