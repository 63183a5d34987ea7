"""A training loop with a hand-written SGD step.

The update `p -= lr * p.grad` is an in-place op on a leaf that requires grad, outside
`torch.no_grad()`: PyTorch raises "a leaf Variable that requires grad is being used in an in-place
operation." at the update.  (`p = p - lr * p.grad` would be silently wrong: it only rebinds the
loop variable.)
"""

import torch
from torch import nn


def train(model: nn.Module, batches, lr: float = 0.1) -> float:
    loss = torch.tensor(0.0)
    for inputs, targets in batches:
        model.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        for p in model.parameters():
            p -= lr * p.grad
    return loss.item()


def run():
    """Three training steps; gradsafe runs it to verify its fix (see pyproject.toml here)."""
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    data = [(torch.randn(16, 4), torch.randn(16, 1)) for _ in range(3)]
    loss = train(model, data)
    return {"loss": torch.tensor(loss), **{name: p.detach() for name, p in model.named_parameters()}}


if __name__ == "__main__":
    print(run()["loss"])
