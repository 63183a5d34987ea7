"""Editing a "knowledge neuron": one column of an output projection is shifted from one embedding towards another.

Reproduces: https://github.com/Hunter-DDM/knowledge-neurons/issues/14
In our words: the editing script subtracted a scaled embedding from one column of a linear layer's
weight and added another, with `weight[:, pos] -= ...` and `weight[:, pos] += ...`. The column is a
view of a parameter that requires grad, so the first update is refused.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "view-of-leaf-inplace",
    "expect": "raises",
    "error": "a view of a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/Hunter-DDM/knowledge-neurons/issues/14",
}


class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense_in = nn.Linear(3, 5, dtype=torch.float64)
        self.dense_out = nn.Linear(5, 3, dtype=torch.float64)

    def forward(self, x):
        return self.dense_out(torch.relu(self.dense_in(x)))


def edit_neuron(model, pos, old_emb, new_emb, lambda_1, lambda_2):
    model.dense_out.weight[:, pos] -= old_emb * lambda_1
    model.dense_out.weight[:, pos] += new_emb * lambda_2


def run():
    torch.manual_seed(0)
    model = FeedForward()
    x = torch.randn(4, 3, dtype=torch.float64)
    old_emb, new_emb = torch.randn(2, 3, dtype=torch.float64)

    edit_neuron(model, 2, old_emb, new_emb, 0.5, 0.8)
    loss = ((model(x) - new_emb) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "dense_out.weight": model.dense_out.weight.detach(), "dense_in.weight.grad": model.dense_in.weight.grad}
