"""A gated MLP block whose forward rescales the sigmoid gate in place.

`torch.sigmoid` saves its *output* for the backward pass; `gate.mul_(2.0)` overwrites it, so
`loss.backward()` fails with "one of the variables needed for gradient computation has been
modified by an inplace operation ... which is output 0 of Sigmoid".
"""

import torch
from torch import nn


class GatedMLP(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.value = nn.Linear(dim, hidden)
        self.gate = nn.Linear(dim, hidden)
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.gate(x))
        gate.mul_(2.0)  # let the gate amplify as well as damp
        return self.out(self.value(x) * gate)


def run():
    """A forward and backward pass; gradsafe runs it to verify its fix (see pyproject.toml here)."""
    torch.manual_seed(0)
    block = GatedMLP(8, 32)
    loss = block(torch.randn(4, 8)).pow(2).mean()
    loss.backward()
    return {"loss": loss.detach(), **{name: p.grad for name, p in block.named_parameters()}}


if __name__ == "__main__":
    print(run()["loss"])
