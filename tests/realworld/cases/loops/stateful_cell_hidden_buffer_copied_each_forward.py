"""A stateful recurrent module keeps its hidden state in a buffer and copies the new state into it.

Reproduces: https://github.com/pytorch/rl/issues/1742
In our words: Python-implemented recurrent modules that updated their hidden state in place broke
the backward pass of a loss summed over several calls. Here a cell stores `self.h`, each forward
reads it and then `copy_`s the new state into it; two forwards feed one backward.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "hidden-state-on-self-updated-inplace",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/rl/issues/1742",
}


class StatefulCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.inp = nn.Linear(input_size, hidden_size)
        self.rec = nn.Linear(hidden_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, 1)
        self.register_buffer("h", torch.zeros(1, hidden_size))

    def forward(self, x):
        new_h = torch.tanh(self.inp(x) + self.rec(self.h))
        self.h.copy_(new_h)
        return self.out(self.h)


def run():
    torch.manual_seed(0)
    cell = StatefulCell(2, 3).double()
    x1 = torch.randn(1, 2, dtype=torch.float64)
    x2 = torch.randn(1, 2, dtype=torch.float64)
    y1 = cell(x1)
    y2 = cell(x2)
    loss = (y1 - 1.0).pow(2).sum() + (y2 + 0.5).pow(2).sum()
    loss.backward()
    return {"y2": y2.detach(), "rec.weight.grad": cell.rec.weight.grad, "inp.weight.grad": cell.inp.weight.grad}
