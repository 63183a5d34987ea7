"""Reference for perturbation_clipped_through_data: the budget is enforced with an out-of-place clamp inside the graph."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def fooling_loss(generator, classifier, images, labels, mag=0.3):
    delta = generator(images)
    delta = torch.clamp(delta, -mag, mag)
    logits = classifier(images + delta)
    return -F.cross_entropy(logits, labels)


def run():
    torch.manual_seed(0)
    generator = nn.Linear(4, 4, dtype=torch.float64)
    classifier = nn.Linear(4, 3, dtype=torch.float64)
    images = torch.randn(5, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1])

    loss = fooling_loss(generator, classifier, images, labels)
    loss.backward()
    return {"loss": loss.detach(), "generator.weight.grad": generator.weight.grad, "generator.bias.grad": generator.bias.grad}


def oracle():
    """Finite differences of the clipped computation written with min/max."""
    torch.manual_seed(0)
    generator = nn.Linear(4, 4, dtype=torch.float64)
    classifier = nn.Linear(4, 3, dtype=torch.float64)
    images = torch.randn(5, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1])
    with torch.no_grad():
        raw = generator(images)
        assert bool((raw.abs() > 0.3).any()) and bool((raw.abs() < 0.3).any())

    def loss():
        delta = torch.minimum(torch.maximum(images @ generator.weight.T + generator.bias, torch.tensor(-0.3)), torch.tensor(0.3))
        logits = (images + delta) @ classifier.weight.T + classifier.bias
        return -(torch.logsumexp(logits, 1) - logits[torch.arange(5), labels]).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "generator.weight.grad": kit.finite_difference(loss, generator.weight),
        "generator.bias.grad": kit.finite_difference(loss, generator.bias),
    }
