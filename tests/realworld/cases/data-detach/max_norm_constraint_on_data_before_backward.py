"""A training step that applies a max-norm constraint to the output layer through .data between the forward and the backward pass.

Reproduces: https://github.com/ShusenTang/Dive-into-DL-PyTorch/issues/126
In our words: a reader of a tutorial noticed that changing `x.data` after computing `y = x ** 2`
but before `y.backward()` does change the gradient: `.data` writes are invisible to autograd, so
backward silently uses the new values where the forward used the old ones.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "data-detach",
    "mechanism": "data-write-to-saved-tensor",
    "expect": "silent",
    "report": "https://github.com/ShusenTang/Dive-into-DL-PyTorch/issues/126",
}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
        self.fc2 = nn.Linear(4, 1, dtype=torch.float64)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def train_step(model, x, y, max_norm=0.2):
    loss = F.mse_loss(model(x), y)
    model.fc2.weight.data.renorm_(2, 0, max_norm)
    loss.backward()
    return loss


def run():
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    loss = train_step(model, x, y)
    return {"loss": loss.detach(), "fc2.weight": model.fc2.weight.detach(), "fc1.weight.grad": model.fc1.weight.grad}
