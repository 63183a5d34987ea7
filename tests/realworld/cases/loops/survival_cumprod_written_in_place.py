"""A survival curve is built by multiplying each step's probability into the previous one in place.

Reproduces: https://github.com/pytorch/pytorch/issues/74806
In our words: the user built a result by writing intermediate products into positions of one
tensor, each position written once, and the multiplication's backward still failed because the
whole tensor shares one version counter. Here a discrete-time survival curve is a cumulative
product computed in place over a cloned hazard tensor.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "cumulative-product-inplace-loop",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/74806",
}


class SurvivalHead(nn.Module):
    def __init__(self, features, steps):
        super().__init__()
        self.hazard = nn.Linear(features, steps)

    def forward(self, x):
        survival = 1 - torch.sigmoid(self.hazard(x))
        curve = survival.clone()
        for t in range(1, curve.shape[-1]):
            curve[:, t] *= curve[:, t - 1]
        return curve


def run():
    torch.manual_seed(0)
    head = SurvivalHead(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    curve = head(x)
    loss = -torch.log(curve[:, -1]).mean() + curve.sum()
    loss.backward()
    return {"curve": curve.detach(), "hazard.weight.grad": head.hazard.weight.grad}
