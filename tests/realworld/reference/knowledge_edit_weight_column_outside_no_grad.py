"""Reference for knowledge_edit_weight_column_outside_no_grad: the edit runs under torch.no_grad()."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense_in = nn.Linear(3, 5, dtype=torch.float64)
        self.dense_out = nn.Linear(5, 3, dtype=torch.float64)

    def forward(self, x):
        return self.dense_out(torch.relu(self.dense_in(x)))


def edit_neuron(model, pos, old_emb, new_emb, lambda_1, lambda_2):
    with torch.no_grad():
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


def oracle():
    """The edited weight built by concatenating columns, and finite differences of the loss."""
    torch.manual_seed(0)
    model = FeedForward()
    x = torch.randn(4, 3, dtype=torch.float64)
    old_emb, new_emb = torch.randn(2, 3, dtype=torch.float64)
    w = model.dense_out.weight.detach()
    edited = torch.cat([w[:, :2], (w[:, 2] - 0.5 * old_emb + 0.8 * new_emb)[:, None], w[:, 3:]], dim=1)

    def loss():
        hidden = torch.clamp(x @ model.dense_in.weight.T + model.dense_in.bias, min=0)
        return ((hidden @ edited.T + model.dense_out.bias - new_emb) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "dense_out.weight": edited, "dense_in.weight.grad": kit.finite_difference(loss, model.dense_in.weight)}
