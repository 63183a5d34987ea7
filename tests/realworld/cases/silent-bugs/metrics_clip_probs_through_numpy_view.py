"""Before backward, the training step clips its sigmoid probabilities for a calibration metric through .detach().numpy().

Reproduces: https://github.com/pytorch/pytorch/issues/97586
In our words: a NumPy array obtained with `.numpy()` shares memory with the tensor, so writes to
the array change the tensor, and autograd's version counter never sees them. Clipping the array
in place for a metric rewrites the probabilities that sigmoid and the BCE loss saved for
backward, and the gradients come out wrong without any error.
"""
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "numpy-view-write-bypasses-version-counter",
    "expect": "silent",
    "report": "https://github.com/pytorch/pytorch/issues/97586",
}


def calibration_error(probs, labels):
    p = probs.detach().numpy()
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
