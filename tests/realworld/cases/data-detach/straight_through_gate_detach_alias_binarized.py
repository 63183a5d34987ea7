"""A mixture-of-experts layer with a straight-through binary gate whose hard values are made by writing into probs.detach().

Reproduces: https://github.com/pytorch/pytorch/issues/6990
In our words: the thread on `.data` versus `.detach()` shows that a detached tensor shares storage
with the original: zeroing `out.detach()` after `out = a.sigmoid()` also zeroes `out`, and backward
then raises, because sigmoid needs its original output. Here the hard gate of a straight-through
estimator is built by thresholding the detached probabilities in place.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "data-detach",
    "mechanism": "detach-alias-written-after-save",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/6990",
}


class GatedExperts(nn.Module):
    def __init__(self, dim=3, experts=2):
        super().__init__()
        self.router = nn.Linear(dim, experts, dtype=torch.float64)
        self.experts = nn.ModuleList(nn.Linear(dim, 1, dtype=torch.float64) for _ in range(experts))

    def forward(self, x):
        probs = torch.sigmoid(self.router(x))
        hard = probs.detach()
        hard[hard < 0.5] = 0.0
        hard[hard >= 0.5] = 1.0
        gate = hard + probs - probs.detach()
        outs = torch.cat([expert(x) for expert in self.experts], dim=1)
        return (gate * outs).sum(1)


def run():
    torch.manual_seed(0)
    layer = GatedExperts()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, dtype=torch.float64)

    loss = ((layer(x) - y) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "router.weight.grad": layer.router.weight.grad, "expert0.weight.grad": layer.experts[0].weight.grad}
