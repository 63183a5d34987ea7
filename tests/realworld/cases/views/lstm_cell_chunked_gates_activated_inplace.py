"""A hand-written LSTM cell that splits the gate pre-activations with chunk and activates each gate in place.

Reproduces: https://github.com/OpenNMT/OpenNMT-py/issues/2303
In our words: a recurrent model stopped at the error "Output 0 of SplitBackward0 is a view and is
being modified inplace": the pieces returned by one split/chunk call are views that autograd does
not allow to be changed in place, and the cell applied sigmoid_/tanh_ to them.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "multi-output-view-inplace",
    "expect": "raises",
    "error": "is a view and is being modified inplace",
    "report": "https://github.com/OpenNMT/OpenNMT-py/issues/2303",
}


class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.ih = nn.Linear(input_size, 4 * hidden_size, dtype=torch.float64)
        self.hh = nn.Linear(hidden_size, 4 * hidden_size, dtype=torch.float64)

    def forward(self, x, state):
        h, c = state
        gates = self.ih(x) + self.hh(h)
        ingate, forgetgate, cellgate, outgate = gates.chunk(4, 1)
        ingate.sigmoid_()
        forgetgate.sigmoid_()
        cellgate.tanh_()
        outgate.sigmoid_()
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
