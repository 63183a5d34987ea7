"""Reference for attention_dropout_inplace_after_softmax: the attention dropout is out of place."""
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


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
        attn_weight = F.dropout(attn_weight, p=self.attn_pdrop, training=self.training)
        return self.out_proj(attn_weight @ v)


def run():
    torch.manual_seed(0)
    block = SelfAttention(dim=4, attn_pdrop=0.25)
    x = torch.randn(2, 3, 4, dtype=torch.float64)

    out = block(x)
    loss = (out**2).mean()
    loss.backward()
    return {"loss": loss.detach(), "Wqkv.weight.grad": block.Wqkv.weight.grad, "out_proj.weight.grad": block.out_proj.weight.grad}


def oracle():
    """Finite differences of attention with the same dropout mask (the generator state is replayed per call)."""
    torch.manual_seed(0)
    block = SelfAttention(dim=4, attn_pdrop=0.25)
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    state = torch.get_rng_state()
    w_qkv, b_qkv, w_out, b_out = block.Wqkv.weight, block.Wqkv.bias, block.out_proj.weight, block.out_proj.bias

    def loss():
        torch.set_rng_state(state)
        qkv = x @ w_qkv.T + b_qkv
        q, k, v = qkv[..., :4], qkv[..., 4:8], qkv[..., 8:]
        scores = torch.exp(q @ k.transpose(-2, -1) / 2.0)
        weights = scores / scores.sum(-1, keepdim=True)
        keep = torch.bernoulli(torch.full_like(weights, 0.75))
        out = ((weights * keep / 0.75) @ v) @ w_out.T + b_out
        return (out**2).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "Wqkv.weight.grad": kit.finite_difference(loss, w_qkv),
        "out_proj.weight.grad": kit.finite_difference(loss, w_out),
    }
