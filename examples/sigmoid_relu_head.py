"""A classifier head built with nn.Sequential, with an in-place ReLU after a Sigmoid.

`nn.Sigmoid` saves its output for backward and `nn.ReLU(inplace=True)` overwrites it, so backward
fails with "... modified by an inplace operation ... which is output 0 of Sigmoid".  (The same
in-place ReLU after a convolution or batch norm is fine: those save their inputs, not their output.)
"""

import torch
from torch import nn


def make_head(features: int, classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(features, 64),
        nn.Sigmoid(),
        nn.ReLU(inplace=True),
        nn.Linear(64, classes),
    )


def run():
    """A forward and backward pass; gradsafe runs it to verify its fix (see pyproject.toml here)."""
    torch.manual_seed(0)
    head = make_head(16, 3)
    logits = head(torch.randn(8, 16))
    loss = nn.functional.cross_entropy(logits, torch.randint(0, 3, (8,)))
    loss.backward()
    return {"loss": loss.detach(), **{name: p.grad for name, p in head.named_parameters()}}


if __name__ == "__main__":
    print(run()["loss"])
