"""A tiny feature-pyramid neck whose top-down pass adds the upsampled coarser map into each lateral in place.

Reproduces: https://github.com/lyongo/NWPU-MOC/issues/4
In our words: training stopped with the in-place error naming the output of a ReLU. The FPN head
accumulated the upsampled coarser level into the finer lateral feature with `+=`, but each lateral
was the output of a ReLU, which keeps that output for its backward; replacing `+=` by `=` with an
addition fixed it.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "augmented-assign-on-saved-output",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/lyongo/NWPU-MOC/issues/4",
}


class TinyFPN(nn.Module):
    def __init__(self, in_channels=(3, 4), out_channels=2):
        super().__init__()
        self.lateral_convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_channels, 1, dtype=torch.float64), nn.ReLU()) for c in in_channels
        )

    def forward(self, feats):
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, feats)]
        for i in range(len(laterals) - 1, 0, -1):
            prev_shape = laterals[i - 1].shape[2:]
            laterals[i - 1] += F.interpolate(laterals[i], size=prev_shape, mode="nearest")
        return laterals


def run():
    torch.manual_seed(0)
    neck = TinyFPN()
    fine = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    coarse = torch.randn(1, 4, 2, 2, dtype=torch.float64)

    outs = neck([fine, coarse])
    loss = sum((o**2).mean() for o in outs)
    loss.backward()
    return {
        "loss": loss.detach(),
        "lateral0.weight.grad": neck.lateral_convs[0][0].weight.grad,
        "lateral1.weight.grad": neck.lateral_convs[1][0].weight.grad,
    }
