"""A stacked GRU built from GRUCells that splits its learned initial state per layer and squeezes each piece in place.

Reproduces: https://github.com/alibaba/TinyNeuralNetwork/issues/238
In our words: a quantizable GRU re-implementation failed with "Output 0 of UnbindBackward0 is a
view and is being modified inplace" at a list comprehension that called `squeeze_(0)` on each
layer's slice of the hidden state: the slices come from one unbind, and in-place changes to them
(even in-place view changes like squeeze_) are refused.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "inplace-view-op-on-multi-output-view",
    "expect": "raises",
    "error": "is a view and is being modified inplace",
    "report": "https://github.com/alibaba/TinyNeuralNetwork/issues/238",
}


class StackedGRU(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers):
        super().__init__()
        self.num_layers = num_layers
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.cells = nn.ModuleList(nn.GRUCell(s, hidden_size, dtype=torch.float64) for s in sizes)
        self.h0 = nn.Parameter(torch.zeros(num_layers, 1, 1, hidden_size, dtype=torch.float64))

    def forward(self, xs):
        hx = self.h0.expand(-1, -1, xs.shape[1], -1).unbind(0)
        hx = [hx[idx].squeeze_(0) for idx in range(self.num_layers)]
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
