"""Denormalising a copy of the network's output in place to log it as an image.

Pattern from: https://github.com/gmberton/VPR-methods-evaluation/blob/HEAD/models/utils.py
In our words: to show a batch, a copy of it is taken (`.detach().clone()`) and turned back into
pixel values in place with `mul_(std).add_(mean)` and a clamp; here it is the reconstruction of a
training step, previewed before the loss is backpropagated. The copy shares no storage with anything autograd saved, so training is unaffected.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "inplace-on-detached-clone",
    "expect": "runs",
    "report": "https://github.com/gmberton/VPR-methods-evaluation/blob/HEAD/models/utils.py",
}

MEAN = torch.tensor([0.5, 0.4], dtype=torch.float64).view(1, 2, 1, 1)
STD = torch.tensor([0.2, 0.3], dtype=torch.float64).view(1, 2, 1, 1)


def preview(batch):
    images = batch.detach().clone()
    images.mul_(STD).add_(MEAN).clamp_(0, 1)
    return images


def run():
    torch.manual_seed(0)
    decoder = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.Sigmoid()).double()
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    recon = decoder(x)
    logged = preview(recon)
    loss = (recon - x).pow(2).mean()
    loss.backward()
    return {
        "loss": loss.detach(),
        "logged": logged,
        "recon": recon.detach(),
        "0.weight.grad": decoder[0].weight.grad,
    }
