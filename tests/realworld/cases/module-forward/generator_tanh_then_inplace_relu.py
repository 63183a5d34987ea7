"""A small image generator built as an nn.Sequential whose last Tanh is followed by an in-place ReLU.

Reproduces: https://github.com/pytorch/pytorch/issues/1321
In our words: adding an nn.Tanh as the last layer of a generative model made training fail with
the in-place error. Tanh itself is out of place; what breaks is a following layer that rewrites
Tanh's output in place, because Tanh keeps that output to compute its gradient.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "inplace-activation-after-output-saving-module",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/1321",
}


def make_generator(latent=3, hidden=5, pixels=4):
    return nn.Sequential(
        nn.Linear(latent, hidden, dtype=torch.float64),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, pixels, dtype=torch.float64),
        nn.Tanh(),
        nn.ReLU(inplace=True),
    )


def run():
    torch.manual_seed(0)
    generator = make_generator()
    z = torch.randn(6, 3, dtype=torch.float64)
    real = torch.rand(6, 4, dtype=torch.float64)

    fake = generator(z)
    loss = ((fake - real) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "0.weight.grad": generator[0].weight.grad, "2.weight.grad": generator[2].weight.grad}
