"""Activation checkpointing around a block with BatchNorm: the recomputation updates the running stats again.

Reproduces: https://github.com/pytorch/pytorch/issues/96136
In our words: torch.utils.checkpoint reruns the wrapped forward during backward, and BatchNorm
in training mode updates running_mean and running_var in place each time it runs, so every step
folds the batch statistics in twice. Losses and gradients match; the statistics used at eval
time do not.
"""
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "checkpoint-recompute-repeats-inplace-buffer-update",
    "expect": "silent",
    "report": "https://github.com/pytorch/pytorch/issues/96136",
}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        h = checkpoint(self.block, x, use_reentrant=False)
        return self.head(h)


def run():
    torch.manual_seed(0)
    net = Net().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, 1, dtype=torch.float64)
    loss = ((net(x) - y) ** 2).mean()
    loss.backward()
    bn = net.block[1]
    return {
        "loss": loss.detach(),
        "running_mean": bn.running_mean.clone(),
        "running_var": bn.running_var.clone(),
        "linear.weight.grad": net.block[0].weight.grad,
    }
