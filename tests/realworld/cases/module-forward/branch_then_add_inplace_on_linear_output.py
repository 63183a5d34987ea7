"""A two-branch network whose main branch adds a skip connection in place after a side head has read it.

Reproduces: https://discuss.pytorch.org/t/when-would-the-error-one-of-the-variables-needed-for-gradient-computation-has-been-modified-occur/11976/2
In our words: the poster forked the output of a layer into a second branch and then kept building
the main branch with `x += ...`. The second branch's layer had stored that output to compute its
weight gradient, so backward failed; `x = x + ...` worked.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "augmented-assign-on-saved-input",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://discuss.pytorch.org/t/when-would-the-error-one-of-the-variables-needed-for-gradient-computation-has-been-modified-occur/11976/2",
}


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
        h += self.skip(x)
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
