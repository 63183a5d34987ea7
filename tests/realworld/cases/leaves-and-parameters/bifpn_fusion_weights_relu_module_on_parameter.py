"""A BiFPN fast-normalised fusion layer that passes its learnable fusion weights through an in-place ReLU module.

Reproduces: https://github.com/zylo117/Yet-Another-EfficientDet-Pytorch/issues/503
In our words: re-implementing BiFPN's weighted feature fusion, the user got "a leaf Variable that
requires grad is being used in an in-place operation" from the ReLU module applied to the fusion
weight Parameter; the maintainer's advice was to apply the ReLU to `self.weight.clone()`.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "inplace-activation-on-parameter",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/zylo117/Yet-Another-EfficientDet-Pytorch/issues/503",
}


class FuseFeature(nn.Module):
    def __init__(self, channels, epsilon=1e-4):
        super().__init__()
        self.epsilon = epsilon
        self.weight = nn.Parameter(torch.tensor([1.0, 0.5], dtype=torch.float64))
        self.weight_relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(channels, channels, 1, dtype=torch.float64)

    def forward(self, x):
        weight = self.weight_relu(self.weight)
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
