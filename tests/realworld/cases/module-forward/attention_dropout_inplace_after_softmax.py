"""A self-attention block (as in an MPT-style model) that applies attention dropout in place to the softmax weights.

Reproduces: https://github.com/mosaicml/llm-foundry/issues/1046
In our words: fine-tuning crashed once attention dropout was switched on; anomaly detection pointed
at the softmax backward. The attention weights were dropped out in place, and softmax keeps its
output to compute its gradient.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "inplace-dropout-on-softmax-output",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/mosaicml/llm-foundry/issues/1046",
}


class SelfAttention(nn.Module):
    def __init__(self, dim, attn_pdrop):
        super().__init__()
        self.Wqkv = nn.Linear(dim, 3 * dim, dtype=torch.float64)
        self.out_proj = nn.Linear(dim, dim, dtype=torch.float64)
        self.attn_pdrop = attn_pdrop

    def forward(self, x):
        q, k, v = self.Wqkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        attn_weight = torch.softmax(scores, dim=-1)
        attn_weight = F.dropout(attn_weight, p=self.attn_pdrop, training=self.training, inplace=True)
        return self.out_proj(attn_weight @ v)


def run():
    torch.manual_seed(0)
    block = SelfAttention(dim=4, attn_pdrop=0.25)
    x = torch.randn(2, 3, 4, dtype=torch.float64)

    out = block(x)
    loss = (out**2).mean()
    loss.backward()
    return {"loss": loss.detach(), "Wqkv.weight.grad": block.Wqkv.weight.grad, "out_proj.weight.grad": block.out_proj.weight.grad}
