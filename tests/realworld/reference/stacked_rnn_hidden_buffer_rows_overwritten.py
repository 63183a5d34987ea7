"""Reference for stacked_rnn_hidden_buffer_rows_overwritten: keep each layer's state in a fresh list per step."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class StackedRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.num_layers = num_layers
        self.cells = nn.ModuleList(
            nn.ModuleDict({"ih": nn.Linear(input_size if i == 0 else hidden_size, hidden_size), "hh": nn.Linear(hidden_size, hidden_size)})
            for i in range(num_layers)
        )

    def forward(self, x, hx):
        h_prev = list(hx)
        outputs = []
        for t in range(x.shape[0]):
            h_t = []
            for layer in range(self.num_layers):
                inp = x[t] if layer == 0 else h_t[layer - 1]
                cell = self.cells[layer]
                h_t.append(torch.tanh(cell["ih"](inp) + cell["hh"](h_prev[layer])))
            outputs.append(h_t[-1])
            h_prev = h_t
        return torch.stack(outputs), torch.stack(h_prev)


def run():
    torch.manual_seed(0)
    rnn = StackedRNN(2, 3, 2).double()
    x = torch.randn(4, 1, 2, dtype=torch.float64)
    hx = torch.zeros(2, 1, 3, dtype=torch.float64)
    out, h_n = rnn(x, hx)
    loss = out.pow(2).sum() + h_n.sum()
    loss.backward()
    return {
        "out": out.detach(),
        "h_n": h_n.detach(),
        "cells.0.hh.weight.grad": rnn.cells[0]["hh"].weight.grad,
        "cells.1.ih.weight.grad": rnn.cells[1]["ih"].weight.grad,
    }


def oracle():
    """torch.nn.RNN with the same weights computes the outputs; gradients by central differences."""
    torch.manual_seed(0)
    rnn = StackedRNN(2, 3, 2).double()
    x = torch.randn(4, 1, 2, dtype=torch.float64)
    hx = torch.zeros(2, 1, 3, dtype=torch.float64)
    ref = nn.RNN(2, 3, 2).double()
    with torch.no_grad():
        for layer in range(2):
            getattr(ref, f"weight_ih_l{layer}").copy_(rnn.cells[layer]["ih"].weight)
            getattr(ref, f"bias_ih_l{layer}").copy_(rnn.cells[layer]["ih"].bias)
            getattr(ref, f"weight_hh_l{layer}").copy_(rnn.cells[layer]["hh"].weight)
            getattr(ref, f"bias_hh_l{layer}").copy_(rnn.cells[layer]["hh"].bias)

    def loss():
        with torch.no_grad():
            out, h_n = ref(x, hx)
            return out.pow(2).sum() + h_n.sum()

    with torch.no_grad():
        out, h_n = ref(x, hx)
    return {
        "out": out,
        "h_n": h_n,
        "cells.0.hh.weight.grad": kit.finite_difference(loss, ref.weight_hh_l0),
        "cells.1.ih.weight.grad": kit.finite_difference(loss, ref.weight_ih_l1),
    }
