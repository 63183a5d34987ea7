"""Reference: the masked scores are assigned."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.query = nn.Linear(dim, dim)

    def forward(self, x, pad):
        scores = self.query(x) @ x.transpose(1, 2) / x.shape[-1] ** 0.5
        scores = scores.masked_fill(pad[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ x


def run():
    torch.manual_seed(0)
    attn = Attention(4).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    pad = torch.tensor([[False, False, True], [False, True, True]])
    out = attn(x, pad)
    loss = out.pow(2).sum()
    loss.backward()
    return {"out": out.detach(), "query.weight.grad": attn.query.weight.grad}


def oracle():
    torch.manual_seed(0)
    attn = Attention(4).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    keep = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)

    def out():
        scores = (x @ attn.query.weight.t() + attn.query.bias) @ x.transpose(1, 2) / 2.0
        e = torch.exp(scores) * keep[:, None, :]
        return (e / e.sum(-1, keepdim=True)) @ x

    def loss():
        return out().pow(2).sum()

    with torch.no_grad():
        return {"out": out(), "query.weight.grad": kit.finite_difference(loss, attn.query.weight)}
