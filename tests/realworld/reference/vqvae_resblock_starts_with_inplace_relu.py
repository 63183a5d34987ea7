"""Reference: the first ReLU of the residual stack is out of place (the fix the maintainer made)."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class ResBlock(nn.Module):
    def __init__(self, in_channel, channel):
        super().__init__()
        self.conv = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(in_channel, channel, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv1d(channel, in_channel, 1),
        )

    def forward(self, input):
        out = self.conv(input)
        out += input
        return out


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(1, 2, 3, padding=1)
        self.res = ResBlock(2, 3)

    def forward(self, x):
        return self.res(self.stem(x))


def run():
    torch.manual_seed(0)
    enc = Encoder().double()
    x = torch.randn(2, 1, 6, dtype=torch.float64)
    out = enc(x)
    loss = out.pow(2).mean()
    loss.backward()
    return {"out": out.detach(), "stem.weight.grad": enc.stem.weight.grad}


def oracle():
    torch.manual_seed(0)
    enc = Encoder().double()
    x = torch.randn(2, 1, 6, dtype=torch.float64)
    c1, c2 = enc.res.conv[1], enc.res.conv[3]

    def out():
        h = F.conv1d(x, enc.stem.weight, enc.stem.bias, padding=1)
        r = F.conv1d(torch.relu(F.conv1d(torch.relu(h), c1.weight, c1.bias, padding=1)), c2.weight, c2.bias)
        return h + r

    def loss():
        return out().pow(2).mean()

    with torch.no_grad():
        return {"out": out(), "stem.weight.grad": kit.finite_difference(loss, enc.stem.weight)}
