"""A residual block keeps `identity = x`, then calls its shared self.relu = nn.ReLU(inplace=True) on x.

Reproduces: https://github.com/iduta/iresnet/pull/2
In our words: the block applies its in-place ReLU module to the incoming tensor after taking the
identity reference, so `identity` and the activated tensor are the same object and the skip
path carries relu(x) instead of x, contrary to the paper's design. Training runs without error.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "inplace-activation-clobbers-skip",
    "expect": "silent",
    "report": "https://github.com/iduta/iresnet/pull/2",
}


class BasicBlock(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.bn1 = nn.BatchNorm1d(planes)
        self.conv1 = nn.Conv1d(planes, planes, 3, padding=1)
        self.conv2 = nn.Conv1d(planes, planes, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = self.relu(x)
        out = self.conv1(out)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out += identity
        return out


def run():
    torch.manual_seed(0)
    stem = nn.Conv1d(1, 2, 3, padding=1).double()
    block = BasicBlock(2).double()
    x = torch.randn(3, 1, 5, dtype=torch.float64)
    out = block(stem(x))
    loss = out.pow(2).mean()
    loss.backward()
    return {"out": out.detach(), "stem.weight.grad": stem.weight.grad, "conv1.weight.grad": block.conv1.weight.grad}
