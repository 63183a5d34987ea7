"""Attention scores masked in place with masked_fill_ before the softmax.

Pattern from: https://github.com/huggingface/transformers/blob/main/src/transformers/models/distilbert/modeling_distilbert.py
In our words: `scores = q @ k.transpose(...)`, then (in the versions that masked in place)
`scores.masked_fill_(mask, -inf)` and a softmax.
The matrix product saves its inputs, not its result, so filling the freshly computed scores in place
changes nothing autograd needs; softmax then saves its own output.
"""
import math

import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "masked-fill-on-fresh-scores",
    "expect": "runs",
    "report": "https://github.com/huggingface/transformers/blob/main/src/transformers/models/distilbert/modeling_distilbert.py",
}


class SelfAttention(nn.Module):
    def __init__(self, dim=4):
        super().__init__()
        self.q_lin = nn.Linear(dim, dim)
        self.k_lin = nn.Linear(dim, dim)
        self.v_lin = nn.Linear(dim, dim)
        self.dim = dim

    def forward(self, x, padding):
        q = self.q_lin(x) / math.sqrt(self.dim)
        k = self.k_lin(x)
        v = self.v_lin(x)
        scores = torch.matmul(q, k.transpose(1, 2))
        mask = padding.unsqueeze(1).expand_as(scores)
        scores.masked_fill_(mask, -float("inf"))
        weights = nn.functional.softmax(scores, dim=-1)
        return torch.matmul(weights, v)


def run():
    torch.manual_seed(0)
    attention = SelfAttention().double()
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    padding = torch.tensor([[False, False, True], [False, False, False]])
    out = attention(x, padding)
    loss = out.pow(2).sum()
    loss.backward()
    return {
        "out": out.detach(),
        "x.grad": x.grad,
        "q_lin.weight.grad": attention.q_lin.weight.grad,
        "k_lin.weight.grad": attention.k_lin.weight.grad,
    }
