"""Training a universal-perturbation generator whose output is clipped to an L-infinity budget through .data.

Reproduces: https://github.com/OmidPoursaeed/Generative_Adversarial_Perturbations/issues/4
In our words: a user of an adversarial-perturbation code base pointed out that it clips values by
writing to `.data`, so the gradients are not those of the clipped computation; the authors
answered that the approximation was deliberate. Autograd treats the `.data` clamp as if nothing
had happened: clipped entries still pass gradient back to the generator.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "data-detach",
    "mechanism": "data-clamp-in-forward",
    "expect": "silent",
    "report": "https://github.com/OmidPoursaeed/Generative_Adversarial_Perturbations/issues/4",
}


def fooling_loss(generator, classifier, images, labels, mag=0.3):
    delta = generator(images)
    delta.data.clamp_(-mag, mag)
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
