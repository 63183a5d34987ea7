"""A hand-written LSTM cell that applies its gate activations in place.

`chunk()` returns views that share one base; PyTorch forbids modifying such multi-output views in
place: `i.sigmoid_()` raises "Output 0 of Split is a view and is being modified inplace.
This view is the output of a function that returns multiple views."
"""

import torch
from torch import nn


class LSTMCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.ih = nn.Linear(input_size, 4 * hidden_size)
        self.hh = nn.Linear(hidden_size, 4 * hidden_size)

    def forward(self, x, state):
        h, c = state
        gates = self.ih(x) + self.hh(h)
        i, f, g, o = gates.chunk(4, 1)
        i.sigmoid_()
        f.sigmoid_()
        g.tanh_()
        o.sigmoid_()
        c = f * c + i * g
        h = o * torch.tanh(c)
        return h, c


def run():
    """A forward and backward pass; gradsafe runs it to verify its fix (see pyproject.toml here)."""
    torch.manual_seed(0)
    cell = LSTMCell(3, 5)
    h, c = cell(torch.randn(2, 3), (torch.zeros(2, 5), torch.zeros(2, 5)))
    h.sum().backward()
    return {"h": h.detach(), "c": c.detach(), **{name: p.grad for name, p in cell.named_parameters()}}


if __name__ == "__main__":
    print(run()["h"])
