"""Reference for pruning_mask_expand_then_zero_filter: the expanded mask is cloned before it is written."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def filter_mask(weight, pruned):
    mask = torch.ones(weight.shape[0], dtype=weight.dtype)[:, None, None, None].expand_as(weight).clone()
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


def oracle():
    """Finite differences of the convolution with filter 1 dropped by concatenation."""
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64)

    def loss():
        w = torch.cat([conv.weight[:1], torch.zeros_like(conv.weight[1:2]), conv.weight[2:]])
        return (F.conv2d(x, w, conv.bias) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "weight.grad": kit.finite_difference(loss, conv.weight), "bias.grad": kit.finite_difference(loss, conv.bias)}
