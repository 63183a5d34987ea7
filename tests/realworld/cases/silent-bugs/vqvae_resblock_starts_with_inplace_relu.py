"""A VQ-VAE residual block whose nn.Sequential starts with ReLU(inplace=True) adds its input back at the end.

Reproduces: https://github.com/rosinality/vq-vae-2-pytorch/issues/60
In our words: the block is meant to carry the pre-activation input on the skip path, but the
first in-place ReLU of the residual stack rectifies the very tensor the skip adds back, so the
block computes relu(x) + f(relu(x)) instead of x + f(relu(x)). No error is raised.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "inplace-activation-clobbers-skip",
    "expect": "silent",
    "report": "https://github.com/rosinality/vq-vae-2-pytorch/issues/60",
}


class ResBlock(nn.Module):
    def __init__(self, in_channel, channel):
        super().__init__()
        self.conv = nn.Sequential(
            nn.ReLU(inplace=True),
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
