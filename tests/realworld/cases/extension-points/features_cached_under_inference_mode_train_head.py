"""Backbone features are precomputed under torch.inference_mode() and then used to train a linear probe.

Reproduces: https://github.com/facebookresearch/dinov2/issues/472
In our words: a model wrapper ran part of its forward under inference mode, and training on top
of it failed with "Inference tensors cannot be saved for backward". Here a frozen encoder's
features are cached under inference_mode for speed, and the probe's Linear layer must save them
to compute its weight gradient.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "inference-tensor-saved-for-backward",
    "expect": "raises",
    "error": "Inference tensors cannot be saved for backward",
    "report": "https://github.com/facebookresearch/dinov2/issues/472",
}


def run():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(4, 3), nn.Tanh()).double()
    probe = nn.Linear(3, 2).double()
    images = torch.randn(5, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0, 1])

    with torch.inference_mode():
        features = encoder(images)

    opt = torch.optim.SGD(probe.parameters(), lr=0.5)
    logits = probe(features)
    loss = nn.functional.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    grad = probe.weight.grad.clone()
    opt.step()
    return {"loss": loss.detach(), "probe.weight.grad": grad, "probe.weight": probe.weight.detach()}
