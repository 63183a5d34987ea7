"""Training a conv layer with a filter-diversity penalty computed on the filters rendered as images, one kernel at a time.

Reproduces: https://github.com/pytorch/vision/issues/3025
In our words: torchvision's make_grid normalised a batch by looping `for t in tensor` and rescaling
each slice in place; given convolution kernels that required grad, it failed with "Output X of
UnbindBackward is a view and is being modified inplace", because iterating a tensor unbinds it.
Here the per-kernel normalisation lives in a helper module and feeds a training penalty.
"""
import torch
import torch.nn.functional as F
from torch import nn

from visualize import normalize_each

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "iterated-rows-modified-inplace",
    "expect": "raises",
    "error": "is a view and is being modified inplace",
    "report": "https://github.com/pytorch/vision/issues/3025",
}


def diversity_penalty(conv):
    images = normalize_each(conv.weight).flatten(1)
    similarity = images @ images.T
    return (similarity.triu(1) ** 2).mean()


def run():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 1, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 3, 2, 2, dtype=torch.float64)

    loss = F.mse_loss(conv(x), target) + 0.1 * diversity_penalty(conv)
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": conv.weight.grad, "bias.grad": conv.bias.grad}
