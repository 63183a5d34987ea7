"""Reference for branch_then_add_inplace_on_linear_output: the skip connection makes a new tensor."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class TwoBranchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
        self.side = nn.Linear(4, 2, dtype=torch.float64)
        self.skip = nn.Linear(3, 4, dtype=torch.float64)
        self.head = nn.Linear(4, 1, dtype=torch.float64)

    def forward(self, x):
        h = self.fc1(x)
        aux = self.side(h)
        h = h + self.skip(x)
        return self.head(torch.tanh(h)), aux


def run():
    torch.manual_seed(0)
    net = TwoBranchNet()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    out, aux = net(x)
    loss = ((out - y) ** 2).mean() + 0.1 * (aux**2).mean()
    loss.backward()
    return {"loss": loss.detach(), "fc1.weight.grad": net.fc1.weight.grad, "side.weight.grad": net.side.weight.grad}


def oracle():
    """Finite differences of the two-branch formula (the side head reads fc1's output before the skip)."""
    torch.manual_seed(0)
    net = TwoBranchNet()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    def linear(layer, inp):
        return inp @ layer.weight.T + layer.bias

    def loss():
        h = linear(net.fc1, x)
        aux = linear(net.side, h)
        out = linear(net.head, torch.tanh(h + linear(net.skip, x)))
        return ((out - y) ** 2).mean() + 0.1 * (aux**2).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "fc1.weight.grad": kit.finite_difference(loss, net.fc1.weight),
        "side.weight.grad": kit.finite_difference(loss, net.side.weight),
    }
