"""Reference for filter_images_normalized_per_kernel: the helper builds the normalised kernels out of place."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from visualize import normalize_each

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402


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


def oracle():
    """Finite differences with the rendering written as (w + 1) / 2 (all weights lie inside the range)."""
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 1, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    assert float(conv.weight.detach().abs().max()) < 1

    def loss():
        images = ((conv.weight + 1) / 2).reshape(3, -1)
        similarity = images @ images.T
        penalty = sum(similarity[i, j] ** 2 for i in range(3) for j in range(i + 1, 3)) / 9
        return ((F.conv2d(x, conv.weight, conv.bias) - target) ** 2).mean() + 0.1 * penalty

    with torch.no_grad():
        value = loss()
    return {"loss": value, "weight.grad": kit.finite_difference(loss, conv.weight), "bias.grad": kit.finite_difference(loss, conv.bias)}
