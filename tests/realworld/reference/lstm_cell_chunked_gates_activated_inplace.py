"""Reference for lstm_cell_chunked_gates_activated_inplace: each gate is activated out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.ih = nn.Linear(input_size, 4 * hidden_size, dtype=torch.float64)
        self.hh = nn.Linear(hidden_size, 4 * hidden_size, dtype=torch.float64)

    def forward(self, x, state):
        h, c = state
        gates = self.ih(x) + self.hh(h)
        ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
        ingate = ingate.sigmoid()
        forgetgate = forgetgate.sigmoid()
        cellgate = cellgate.tanh()
        outgate = outgate.sigmoid()
        c = forgetgate * c + ingate * cellgate
        h = outgate * torch.tanh(c)
        return h, c


def run():
    torch.manual_seed(0)
    cell = LSTMCell(3, 2)
    xs = torch.randn(4, 2, 3, dtype=torch.float64)
    h = c = torch.zeros(2, 2, dtype=torch.float64)

    for x in xs:
        h, c = cell(x, (h, c))
    loss = (h**2).sum()
    loss.backward()
    return {"loss": loss.detach(), "ih.weight.grad": cell.ih.weight.grad, "hh.weight.grad": cell.hh.weight.grad}


def oracle():
    """Finite differences of the LSTM equations with the gates sliced by hand."""
    torch.manual_seed(0)
    cell = LSTMCell(3, 2)
    xs = torch.randn(4, 2, 3, dtype=torch.float64)

    def sig(t):
        return 1 / (1 + torch.exp(-t))

    def loss():
        h = c = torch.zeros(2, 2, dtype=torch.float64)
        for x in xs:
            g = x @ cell.ih.weight.T + cell.ih.bias + h @ cell.hh.weight.T + cell.hh.bias
            c = sig(g[:, 2:4]) * c + sig(g[:, 0:2]) * torch.tanh(g[:, 4:6])
            h = sig(g[:, 6:8]) * torch.tanh(c)
        return (h**2).sum()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "ih.weight.grad": kit.finite_difference(loss, cell.ih.weight),
        "hh.weight.grad": kit.finite_difference(loss, cell.hh.weight),
    }
