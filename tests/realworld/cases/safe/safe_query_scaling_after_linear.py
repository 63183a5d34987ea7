"""Scaling the query projection in place, straight after the Linear layer that produced it.

Pattern from: https://github.com/facebookresearch/fairseq/blob/main/fairseq/modules/multihead_attention.py
In our words: `q = self.q_proj(query)` followed by `q *= self.scaling`. A Linear layer saves its
input and weight for backward, never its output, so multiplying the output in place is safe; the
multiplication by a Python number saves nothing either.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "mul-on-linear-output",
    "expect": "runs",
    "report": "https://github.com/facebookresearch/fairseq/blob/main/fairseq/modules/multihead_attention.py",
}


class Attention(nn.Module):
    def __init__(self, embed_dim=4):
        super().__init__()
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        self.scaling = embed_dim ** -0.5

    def forward(self, query):
        q = self.q_proj(query)
        k = self.k_proj(query)
        v = self.v_proj(query)
        q *= self.scaling
        attn_weights = torch.bmm(q, k.transpose(1, 2))
        attn_probs = torch.softmax(attn_weights, dim=-1)
        return self.out_proj(torch.bmm(attn_probs, v))


def run():
    torch.manual_seed(0)
    attention = Attention().double()
    query = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    out = attention(query)
    loss = out.pow(2).mean()
    loss.backward()
    return {
        "out": out.detach(),
        "query.grad": query.grad,
        "q_proj.weight.grad": attention.q_proj.weight.grad,
        "v_proj.bias.grad": attention.v_proj.bias.grad,
    }
