"""Reference for smoothgrad_noise_added_to_input_alias: each noisy input is a new tensor."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def smooth_grad(model, image, target, samples=3, sigma=0.2):
    image = image.clone().requires_grad_(True)
    total = torch.zeros_like(image)
    for _ in range(samples):
        noisy = image + sigma * torch.randn_like(image)
        score = model(noisy)[0, target]
        (grad,) = torch.autograd.grad(score, image)
        total += grad
    return total / samples


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, dtype=torch.float64), nn.Tanh(), nn.Linear(3, 2, dtype=torch.float64))
    image = torch.randn(1, 4, dtype=torch.float64)

    saliency = smooth_grad(model, image, target=1)
    return {"saliency": saliency}


def oracle():
    """The mean of finite-difference gradients of the score at each noisy point (same noise draws)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3, dtype=torch.float64), nn.Tanh(), nn.Linear(3, 2, dtype=torch.float64))
    image = torch.randn(1, 4, dtype=torch.float64)
    noises = [0.2 * torch.randn_like(image) for _ in range(3)]
    total = torch.zeros_like(image)
    for noise in noises:
        point = image + noise
        total += kit.finite_difference(lambda: model(point)[0, 1], point)
    return {"saliency": total / 3}
