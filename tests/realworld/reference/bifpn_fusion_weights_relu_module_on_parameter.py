"""Reference for bifpn_fusion_weights_relu_module_on_parameter: the ReLU module is applied to a clone of the Parameter."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class FuseFeature(nn.Module):
    def __init__(self, channels, epsilon=1e-4):
        super().__init__()
        self.epsilon = epsilon
        self.weight = nn.Parameter(torch.tensor([1.0, 0.5], dtype=torch.float64))
        self.weight_relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(channels, channels, 1, dtype=torch.float64)

    def forward(self, x):
        weight = self.weight_relu(self.weight.clone())
        weight = weight / (torch.sum(weight, dim=0) + self.epsilon)
        return self.conv(weight[0] * x[0] + weight[1] * x[1])


def run():
    torch.manual_seed(0)
    fuse = FuseFeature(2)
    p_in, p_up = torch.randn(2, 1, 2, 3, 3, dtype=torch.float64)
    target = torch.randn(1, 2, 3, 3, dtype=torch.float64)

    loss = ((fuse([p_in, p_up]) - target) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": fuse.weight.grad, "conv.weight.grad": fuse.conv.weight.grad}


def oracle():
    """Finite differences of the fast normalised fusion written with clamp."""
    torch.manual_seed(0)
    fuse = FuseFeature(2)
    p_in, p_up = torch.randn(2, 1, 2, 3, 3, dtype=torch.float64)
    target = torch.randn(1, 2, 3, 3, dtype=torch.float64)

    def loss():
        w = torch.clamp(fuse.weight, min=0)
        w = w / (w[0] + w[1] + 1e-4)
        out = F.conv2d(w[0] * p_in + w[1] * p_up, fuse.conv.weight, fuse.conv.bias)
        return ((out - target) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "weight.grad": kit.finite_difference(loss, fuse.weight), "conv.weight.grad": kit.finite_difference(loss, fuse.conv.weight)}
