"""Filter pruning: a per-filter mask is broadcast to the weight's shape with expand_as, then pruned filters are zeroed.

Reproduces: https://github.com/pytorch/pytorch/issues/42726
In our words: a pruning tool built its mask with `ones[:, None, None, None].expand_as(weight)` and
then assigned zeros to the mask of one filter. The expanded tensor has one memory location behind
many elements, so the assignment is refused; the tool needed a clone after the expand.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "write-to-expanded-tensor",
    "expect": "raises",
    "error": "more than one element of the written-to tensor refers to a single memory location",
    "report": "https://github.com/pytorch/pytorch/issues/42726",
}


def filter_mask(weight, pruned):
    mask = torch.ones(weight.shape[0], dtype=weight.dtype)[:, None, None, None].expand_as(weight)
    for idx in pruned:
        mask[idx] = torch.zeros(weight.shape[1:], dtype=weight.dtype)
    return mask


def run():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    mask = filter_mask(conv.weight, pruned=[1])

    out = F.conv2d(x, conv.weight * mask, conv.bias)
    loss = (out**2).mean()
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": conv.weight.grad, "bias.grad": conv.bias.grad}
