"""Reference for grayscale_expand_then_normalize_inplace: the expanded grayscale batch is made contiguous."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

LUMA = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)


def batch_grayscale(imgs):
    gray = (imgs * LUMA[None, :, None, None]).sum(1, keepdim=True)
    return gray.expand(-1, 3, -1, -1).contiguous()


def normalize_(imgs, mean, std):
    return imgs.sub_(mean[None, :, None, None]).div_(std[None, :, None, None])


def run():
    torch.manual_seed(0)
    model = nn.Conv2d(3, 2, 2, dtype=torch.float64)
    imgs = torch.rand(2, 3, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 2, 2, 2, dtype=torch.float64)

    batch = normalize_(batch_grayscale(imgs), MEAN, STD)
    loss = F.mse_loss(model(batch), target)
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": model.weight.grad, "bias.grad": model.bias.grad}


def oracle():
    """Finite differences with the grayscale channels built by concatenation and normalised per channel."""
    torch.manual_seed(0)
    model = nn.Conv2d(3, 2, 2, dtype=torch.float64)
    imgs = torch.rand(2, 3, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 2, 2, 2, dtype=torch.float64)
    gray = 0.299 * imgs[:, 0:1] + 0.587 * imgs[:, 1:2] + 0.114 * imgs[:, 2:3]
    batch = torch.cat([(gray - m) / s for m, s in zip(MEAN.tolist(), STD.tolist())], dim=1)

    def loss():
        return ((F.conv2d(batch, model.weight, model.bias) - target) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "weight.grad": kit.finite_difference(loss, model.weight), "bias.grad": kit.finite_difference(loss, model.bias)}
