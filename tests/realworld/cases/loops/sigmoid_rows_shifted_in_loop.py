"""A gating layer adds a per-row offset to its sigmoid output with an index loop.

Reproduces: https://github.com/pytorch/pytorch/issues/9391
In our words: after a sigmoid, the user overwrote entries of the activation in place and backward
failed, while the same code with a hand-written logistic worked. Here a module shifts each row of
its sigmoid gate by a learned offset, one row at a time, and the backward pass refuses.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "saved-output-rows-written-in-loop",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/9391",
}


class ShiftedGate(nn.Module):
    def __init__(self, features, rows):
        super().__init__()
        self.proj = nn.Linear(features, features)
        self.offset = nn.Parameter(torch.linspace(-0.1, 0.1, rows))

    def forward(self, x):
        gate = torch.sigmoid(self.proj(x))
        for i in range(gate.shape[0]):
            gate[i] += self.offset[i]
        return gate * x


def run():
    torch.manual_seed(0)
    layer = ShiftedGate(3, 4).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    out = layer(x)
    loss = (out ** 2).sum()
    loss.backward()
    return {
        "out": out.detach(),
        "proj.weight.grad": layer.proj.weight.grad,
        "offset.grad": layer.offset.grad,
    }
