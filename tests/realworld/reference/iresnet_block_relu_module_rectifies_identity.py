"""Reference: the first activation of the block is not in place, so identity keeps x."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.bn1 = nn.BatchNorm1d(planes)
        self.conv1 = nn.Conv1d(planes, planes, 3, padding=1)
        self.conv2 = nn.Conv1d(planes, planes, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = x
        out = torch.relu(x)
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


def oracle():
    torch.manual_seed(0)
    stem = nn.Conv1d(1, 2, 3, padding=1).double()
    block = BasicBlock(2).double()
    x = torch.randn(3, 1, 5, dtype=torch.float64)
    bn = block.bn1

    def out():
        h = F.conv1d(x, stem.weight, stem.bias, padding=1)
        r = F.conv1d(torch.relu(h), block.conv1.weight, block.conv1.bias, padding=1)
        mean = r.mean((0, 2), keepdim=True)
        var = r.var((0, 2), unbiased=False, keepdim=True)
        r = (r - mean) / torch.sqrt(var + bn.eps) * bn.weight[:, None] + bn.bias[:, None]
        r = F.conv1d(torch.relu(r), block.conv2.weight, block.conv2.bias, padding=1)
        return h + r

    def loss():
        return out().pow(2).mean()

    with torch.no_grad():
        return {
            "out": out(),
            "stem.weight.grad": kit.finite_difference(loss, stem.weight),
            "conv1.weight.grad": kit.finite_difference(loss, block.conv1.weight),
        }
