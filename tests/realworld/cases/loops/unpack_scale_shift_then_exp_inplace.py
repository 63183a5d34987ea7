"""A FiLM-style conditioning head unpacks its output into scale and shift and exponentiates in place.

Reproduces: https://github.com/haofanwang/Score-CAM/issues/28
In our words: code that walks over the slices of a tensor (a tuple unpacking or a zip over its
first dimension) and then modifies a slice in place stopped working in newer torch, because the
slices come from one call that returns several views. Here the conditioning network's output is
unpacked as `log_scale, shift = ...` and `log_scale.exp_()` turns it into a scale.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "unpacked-view-modified-inplace",
    "expect": "raises",
    "error": "is a view and is being modified inplace",
    "report": "https://github.com/haofanwang/Score-CAM/issues/28",
}


class FiLM(nn.Module):
    def __init__(self, cond_dim, features):
        super().__init__()
        self.features = features
        self.cond = nn.Linear(cond_dim, 2 * features)

    def forward(self, h, c):
        log_scale, shift = self.cond(c).view(-1, 2, self.features).transpose(0, 1)
        log_scale.exp_()
        return h * log_scale + shift


def run():
    torch.manual_seed(0)
    film = FiLM(2, 3).double()
    h = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)
    out = film(h, c)
    loss = out.pow(2).mean()
    loss.backward()
    return {"out": out.detach(), "cond.weight.grad": film.cond.weight.grad, "cond.bias.grad": film.cond.bias.grad}
