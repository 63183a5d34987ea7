"""A residual MLP layer activates its input with F.relu(x, inplace=True) and then adds x as the skip.

Reproduces: https://github.com/harveyp123/AutoReP/pull/5
In our words: the authors found that `F.relu(x, inplace=True)` silently changed what their
network computed during training and removed the flag. Here the layer's skip connection reads
`x` after the in-place activation has already rectified it.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "inplace-activation-clobbers-skip",
    "expect": "silent",
    "report": "https://github.com/harveyp123/AutoReP/pull/5",
}


class ResidualMLP(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.inp = nn.Linear(2, dim)
        self.fc = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, 1)

    def forward(self, x):
        x = self.inp(x)
        h = self.fc(F.relu(x, inplace=True))
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
