"""A hand-written stacked Elman RNN keeps all layers' hidden states in one buffer and overwrites rows.

Reproduces: https://github.com/pytorch/pytorch/pull/173888
In our words: the RNN documentation's pure-Python version of the forward pass stored each layer's
new hidden state with `h_t[layer] = torch.tanh(...)` into a cloned buffer, and gradients did not
come out of it. Here a two-layer RNN written the same way is trained on a short sequence.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "recurrence-buffer-row-assign",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/pull/173888",
}


class StackedRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.num_layers = num_layers
        self.cells = nn.ModuleList(
            nn.ModuleDict({"ih": nn.Linear(input_size if i == 0 else hidden_size, hidden_size), "hh": nn.Linear(hidden_size, hidden_size)})
            for i in range(num_layers)
        )

    def forward(self, x, hx):
        h_t = hx.clone()
        outputs = []
        for t in range(x.shape[0]):
            for layer in range(self.num_layers):
                inp = x[t] if layer == 0 else h_t[layer - 1]
                cell = self.cells[layer]
                h_t[layer] = torch.tanh(cell["ih"](inp) + cell["hh"](h_t[layer]))
            outputs.append(h_t[-1])
        return torch.stack(outputs), h_t


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
