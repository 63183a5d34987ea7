"""Reference: the activation is out of place, so the skip adds the pre-activation x."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class ResidualMLP(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.inp = nn.Linear(2, dim)
        self.fc = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, 1)

    def forward(self, x):
        x = self.inp(x)
        h = self.fc(F.relu(x))
        x = x + h
        return self.out(x)


def run():
    torch.manual_seed(0)
    model = ResidualMLP(3).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "inp.weight.grad": model.inp.weight.grad, "out.weight.grad": model.out.weight.grad}


def oracle():
    torch.manual_seed(0)
    model = ResidualMLP(3).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    def loss():
        a = x @ model.inp.weight.t() + model.inp.bias
        h = torch.clamp(a, min=0) @ model.fc.weight.t() + model.fc.bias
        pred = (a + h) @ model.out.weight.t() + model.out.bias
        return ((pred - y) ** 2).mean()

    return {
        "loss": loss(),
        "inp.weight.grad": kit.finite_difference(loss, model.inp.weight),
        "out.weight.grad": kit.finite_difference(loss, model.out.weight),
    }
