"""Reference: the metric clips a copy of the NumPy array."""
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def calibration_error(probs, labels):
    p = probs.detach().numpy().copy()
    np.clip(p, 0.1, 0.9, out=p)
    return float(np.abs(p - labels.numpy()).mean())


def run():
    torch.manual_seed(0)
    model = nn.Linear(3, 1).double()
    x = 2 * torch.randn(6, 3, dtype=torch.float64)
    labels = torch.tensor([[1.0], [0.0], [1.0], [1.0], [0.0], [0.0]], dtype=torch.float64)
    probs = torch.sigmoid(model(x))
    loss = F.binary_cross_entropy(probs, labels)
    ece = calibration_error(probs, labels)
    loss.backward()
    return {"loss": loss.detach(), "ece": torch.tensor(ece), "weight.grad": model.weight.grad}


def oracle():
    torch.manual_seed(0)
    model = nn.Linear(3, 1).double()
    x = 2 * torch.randn(6, 3, dtype=torch.float64)
    labels = torch.tensor([[1.0], [0.0], [1.0], [1.0], [0.0], [0.0]], dtype=torch.float64)

    def probs():
        return 1 / (1 + torch.exp(-(x @ model.weight.t() + model.bias)))

    def loss():
        p = probs()
        return -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()

    with torch.no_grad():
        ece = (probs().clamp(0.1, 0.9) - labels).abs().mean()
        return {"loss": loss(), "ece": ece, "weight.grad": kit.finite_difference(loss, model.weight)}
