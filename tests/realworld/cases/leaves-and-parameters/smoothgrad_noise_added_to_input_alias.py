"""SmoothGrad saliency: Gaussian noise is added to an input that requires grad through an alias, with +=.

Reproduces: https://discuss.pytorch.org/t/inplace-operation-changes-is-leaf-attribute/120297
In our words: the poster listed what happens to a tensor created with requires_grad=True under
`c += 1`, `c.add_(1)`, `out=` and friends: the augmented assignment is refused with the leaf
in-place error. Here the leaf is the image a saliency method differentiates with respect to, and
`noisy = image; noisy += noise` is that same augmented assignment on the leaf.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "augmented-assign-on-leaf-input",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://discuss.pytorch.org/t/inplace-operation-changes-is-leaf-attribute/120297",
}


def smooth_grad(model, image, target, samples=3, sigma=0.2):
    image = image.clone().requires_grad_(True)
    total = torch.zeros_like(image)
    for _ in range(samples):
        noisy = image
        noisy += sigma * torch.randn_like(image)
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
