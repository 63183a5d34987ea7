"""Reference for sigmoid_rows_shifted_in_loop: add the offsets to the gate out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class ShiftedGate(nn.Module):
    def __init__(self, features, rows):
        super().__init__()
        self.proj = nn.Linear(features, features)
        self.offset = nn.Parameter(torch.linspace(-0.1, 0.1, rows))

    def forward(self, x):
        gate = torch.sigmoid(self.proj(x))
        gate = gate + self.offset[:, None]
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


def oracle():
    """Both gradients by central differences of the row-by-row computation."""
    torch.manual_seed(0)
    layer = ShiftedGate(3, 4).double()
    x = torch.randn(4, 3, dtype=torch.float64)

    def loss():
        with torch.no_grad():
            gate = torch.sigmoid(layer.proj(x))
            rows = [(gate[i] + layer.offset[i]) * x[i] for i in range(4)]
            return sum((r ** 2).sum() for r in rows)

    return {
        "proj.weight.grad": kit.finite_difference(loss, layer.proj.weight),
        "offset.grad": kit.finite_difference(loss, layer.offset),
    }
