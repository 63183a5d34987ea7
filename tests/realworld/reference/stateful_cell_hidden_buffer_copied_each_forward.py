"""Reference for stateful_cell_hidden_buffer_copied_each_forward: rebind the state instead of copying into it."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class StatefulCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.inp = nn.Linear(input_size, hidden_size)
        self.rec = nn.Linear(hidden_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, 1)
        self.register_buffer("h", torch.zeros(1, hidden_size))

    def forward(self, x):
        new_h = torch.tanh(self.inp(x) + self.rec(self.h))
        self.h = new_h
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


def oracle():
    """The two steps unrolled by hand from a zero state; gradients by central differences."""
    torch.manual_seed(0)
    cell = StatefulCell(2, 3).double()
    x1 = torch.randn(1, 2, dtype=torch.float64)
    x2 = torch.randn(1, 2, dtype=torch.float64)

    def outputs():
        with torch.no_grad():
            h1 = torch.tanh(cell.inp(x1))
            h2 = torch.tanh(cell.inp(x2) + h1 @ cell.rec.weight.T)
            return cell.out(h1), cell.out(h2)

    def loss():
        y1, y2 = outputs()
        return (y1 - 1.0).pow(2).sum() + (y2 + 0.5).pow(2).sum()

    return {
        "y2": outputs()[1],
        "rec.weight.grad": kit.finite_difference(loss, cell.rec.weight),
        "inp.weight.grad": kit.finite_difference(loss, cell.inp.weight),
    }
