"""Attention over padded keys calls scores.masked_fill(pad, -inf) as a statement before the softmax.

Reproduces: https://github.com/facebookresearch/ParlAI/pull/3068
In our words: the out-of-place masked_fill returns a new tensor; written as a bare statement it
does nothing, so padded positions keep receiving attention weight. Training runs normally with
slightly wrong outputs and gradients.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "out-of-place-result-discarded",
    "expect": "silent",
    "report": "https://github.com/facebookresearch/ParlAI/pull/3068",
}


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.query = nn.Linear(dim, dim)

    def forward(self, x, pad):
        scores = self.query(x) @ x.transpose(1, 2) / x.shape[-1] ** 0.5
        scores.masked_fill(pad[:, None, :], float("-inf"))
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
