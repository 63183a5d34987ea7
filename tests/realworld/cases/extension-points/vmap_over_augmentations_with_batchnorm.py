"""Several augmented views of a batch are pushed through a BatchNorm model at once with torch.vmap.

Reproduces: https://github.com/pytorch/functorch/issues/867
In our words: vmapping a model that contains BatchNorm in training mode fails because BatchNorm
updates its running mean and variance in place, and those buffers are not batched while the
input is. The reporter met it computing per-sample Jacobians; here it is a consistency loss over
augmented views.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "vmap-batchnorm-running-stats-inplace",
    "expect": "raises",
    "error": "Batch norm got a batched tensor as input while the running_mean or running_var",
    "report": "https://github.com/pytorch/functorch/issues/867",
}


def make_model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()


def run():
    torch.manual_seed(0)
    model = make_model()
    batch = torch.randn(5, 3, dtype=torch.float64)
    noise = 0.1 * torch.randn(2, 5, 3, dtype=torch.float64)
    views = batch + noise
    preds = torch.vmap(model)(views)
    loss = (preds[0] - preds[1]).pow(2).mean() + preds.mean() ** 2
    loss.backward()
    return {"preds": preds.detach(), "weight.grad": model[0].weight.grad}
