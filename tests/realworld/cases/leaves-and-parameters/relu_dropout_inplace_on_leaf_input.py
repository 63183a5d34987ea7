"""Learnable input features passed through F.relu(inplace=True) and F.dropout(inplace=True) before a classifier.

Reproduces: https://github.com/pytorch/pytorch/issues/727
In our words: a tensor created with requires_grad=True went straight into `F.relu(x, inplace=True)`
and `F.dropout(x, inplace=True)`; torch refuses in-place operations on such a leaf, and the
maintainer's answer was to drop the inplace flags.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "inplace-activation-on-leaf-input",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/pytorch/pytorch/issues/727",
}


def preprocess(x, p=0.25, training=True):
    x = F.relu(x, inplace=True)
    x = F.dropout(x, p=p, training=training, inplace=True)
    return x


def run():
    torch.manual_seed(0)
    classifier = nn.Linear(4, 2, dtype=torch.float64)
    features = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 1])

    loss = F.cross_entropy(classifier(preprocess(features)), labels)
    loss.backward()
    return {"loss": loss.detach(), "features.grad": features.grad, "weight.grad": classifier.weight.grad}
