"""Feature inversion: optimize an input image to match a network's features, previewing it each step.

Reproduces: https://github.com/ruthcfong/invert/issues/2
In our words: the user noticed that the optimized image got smoother even with every loss term
switched off. The helper that turns the normalized image back into a displayable one multiplies
and adds in place on the tensor it is given, and the script passes it the optimized image itself
(through `detach()`, which shares memory), so every preview silently changes the image.
"""
import torch
from torch import nn
import torch.nn.functional as F

from utils import denormalize, total_variation

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "helper-mutates-argument-through-detach-alias",
    "expect": "silent",
    "report": "https://github.com/ruthcfong/invert/issues/2",
}


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
