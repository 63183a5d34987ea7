"""Reference for inversion_preview_denormalize_mutates_image: the preview helper works on a copy."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

from utils import denormalize, total_variation

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402


def run():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 2, kernel_size=3, padding=1), nn.Tanh()).double()
    reference_image = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    target = net(reference_image).detach()

    x = (0.1 * torch.randn(1, 3, 4, 4, dtype=torch.float64)).requires_grad_()
    optimizer = torch.optim.SGD([x], lr=0.5)
    previews = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.mse_loss(net(x), target) + 0.1 * total_variation(x)
        loss.backward()
        optimizer.step()
        preview = denormalize(x.detach()[0])
        previews.append(preview.clamp(0, 1).mean())

    return {"x": x.detach(), "previews": torch.stack(previews), "loss": loss.detach()}


def oracle():
    """Gradient descent by hand with central-difference gradients; previews computed out of place."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 2, kernel_size=3, padding=1), nn.Tanh()).double()
    reference_image = torch.rand(1, 3, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        target = net(reference_image)
    x = 0.1 * torch.randn(1, 3, 4, 4, dtype=torch.float64)
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64)[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)[:, None, None]

    def loss():
        with torch.no_grad():
            tv = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()
            return F.mse_loss(net(x), target) + 0.1 * tv

    previews = []
    for _ in range(3):
        last = loss()
        x = x - 0.5 * kit.finite_difference(loss, x)
        previews.append((x[0] * std + mean).clamp(0, 1).mean())
    return {"x": x, "previews": torch.stack(previews), "loss": torch.as_tensor(last, dtype=torch.float64)}
