"""Reference: the head axis is added with the out-of-place unsqueeze."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class SharedWeightAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x, values):
        scores = self.q(x) @ self.k(x).transpose(-1, -2) / x.shape[-1] ** 0.5
        weights = torch.softmax(scores, dim=-1)
        weights = weights.unsqueeze(1)
        return weights @ values


def run():
    torch.manual_seed(0)
    attn = SharedWeightAttention(4, 2).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    values = torch.randn(2, 2, 3, 4, dtype=torch.float64)
    out = attn(x, values)
    loss = out.pow(2).sum()
    loss.backward()
    return {"out": out.detach(), "q.weight.grad": attn.q.weight.grad}


def oracle():
    torch.manual_seed(0)
    attn = SharedWeightAttention(4, 2).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    values = torch.randn(2, 2, 3, 4, dtype=torch.float64)

    def out():
        q = x @ attn.q.weight.t() + attn.q.bias
        k = x @ attn.k.weight.t() + attn.k.bias
        scores = torch.einsum("bid,bjd->bij", q, k) / 2.0
        e = torch.exp(scores - scores.amax(-1, keepdim=True))
        w = e / e.sum(-1, keepdim=True)
        return torch.einsum("bij,bhjd->bhid", w, values)

    def loss():
        return out().pow(2).sum()

    return {"out": out(), "q.weight.grad": kit.finite_difference(loss, attn.q.weight)}
