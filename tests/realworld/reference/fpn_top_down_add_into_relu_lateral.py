"""Reference for fpn_top_down_add_into_relu_lateral: the top-down sum is a new tensor."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


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
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=prev_shape, mode="nearest")
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


def oracle():
    """Finite differences of the pyramid written with functional calls (nearest upsampling = repeat)."""
    torch.manual_seed(0)
    neck = TinyFPN()
    fine = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    coarse = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    conv0, conv1 = neck.lateral_convs[0][0], neck.lateral_convs[1][0]

    def loss():
        low = torch.clamp(F.conv2d(coarse, conv1.weight, conv1.bias), min=0)
        high = torch.clamp(F.conv2d(fine, conv0.weight, conv0.bias), min=0)
        high = high + low.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        return (high**2).mean() + (low**2).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "lateral0.weight.grad": kit.finite_difference(loss, conv0.weight),
        "lateral1.weight.grad": kit.finite_difference(loss, conv1.weight),
    }
