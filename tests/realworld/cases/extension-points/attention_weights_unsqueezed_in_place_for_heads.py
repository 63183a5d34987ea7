"""Attention weights from softmax get a head axis with unsqueeze_ before they are applied to the values.

Reproduces: https://github.com/pytorch/pytorch/pull/22111
In our words: in-place view operations such as squeeze_/unsqueeze_ change a tensor's metadata in
place, and when that tensor is the saved result of an op (there, inside einsum and a custom
Function) autograd breaks. softmax saves its output for backward, so reshaping the weights with
unsqueeze_ bumps their version and backward refuses them.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "inplace-view-op-on-saved-result",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/pull/22111",
}


class SharedWeightAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x, values):
        scores = self.q(x) @ self.k(x).transpose(-1, -2) / x.shape[-1] ** 0.5
        weights = torch.softmax(scores, dim=-1)
        weights.unsqueeze_(1)
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
