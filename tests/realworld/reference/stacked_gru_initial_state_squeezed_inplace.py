"""Reference for stacked_gru_initial_state_squeezed_inplace: each slice is squeezed out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class StackedGRU(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.num_layers = num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.cells = nn.ModuleList(nn.GRUCell(s, hidden_size, dtype=torch.float64) for s in sizes)
        self.h0 = nn.Parameter(torch.zeros(num_layers, 1, 1, hidden_size, dtype=torch.float64))

    def forward(self, xs):
        hx = self.h0.expand(-1, -1, xs.shape[1], -1).unbind(0)
        hx = [hx[idx].squeeze(0) for idx in range(self.num_layers)]
        for x in xs:
            inp = x
            for layer, cell in enumerate(self.cells):
                hx[layer] = cell(inp, hx[layer])
                inp = hx[layer]
        return inp


def run():
    torch.manual_seed(0)
    rnn = StackedGRU(3, 2, num_layers=2)
    with torch.no_grad():
        rnn.h0.normal_()
    xs = torch.randn(3, 2, 3, dtype=torch.float64)

    out = rnn(xs)
    loss = (out**2).sum()
    loss.backward()
    return {"loss": loss.detach(), "h0.grad": rnn.h0.grad, "cell0.weight_ih.grad": rnn.cells[0].weight_ih.grad}


def oracle():
    """Finite differences of the stacked recurrence with the initial state indexed per layer."""
    torch.manual_seed(0)
    rnn = StackedGRU(3, 2, num_layers=2)
    with torch.no_grad():
        rnn.h0.normal_()
    xs = torch.randn(3, 2, 3, dtype=torch.float64)

    def loss():
        hx = [rnn.h0[layer, 0].repeat(2, 1) for layer in range(2)]
        for x in xs:
            inp = x
            for layer, cell in enumerate(rnn.cells):
                hx[layer] = cell(inp, hx[layer])
                inp = hx[layer]
        return (inp**2).sum()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "h0.grad": kit.finite_difference(loss, rnn.h0),
        "cell0.weight_ih.grad": kit.finite_difference(loss, rnn.cells[0].weight_ih),
    }
