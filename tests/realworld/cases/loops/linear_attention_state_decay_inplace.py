"""Recurrent (causal) linear attention keeps a running key-value state updated with mul_/add_.

Reproduces: https://github.com/idiap/fast-transformers/pull/10
In our words: the recurrent form of linear attention updated its running state matrices in place,
which was fine at inference but broke backward as soon as its output was chained into other
trainable modules. Here a decayed state is updated with `state.mul_(decay).add_(k v^T)` per step
and every step reads the state.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "recurrent-state-mul-add-inplace",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/idiap/fast-transformers/pull/10",
}


class RecurrentLinearAttention(nn.Module):
    def __init__(self, dim, decay=0.9):
        super().__init__()
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.decay = decay

    def forward(self, x):
        q = torch.nn.functional.elu(self.q(x)) + 1
        k = torch.nn.functional.elu(self.k(x)) + 1
        v = self.v(x)
        state = torch.zeros(x.shape[-1], x.shape[-1], dtype=x.dtype)
        outputs = []
        for t in range(x.shape[0]):
            state.mul_(self.decay).add_(torch.outer(k[t], v[t]))
            outputs.append(q[t] @ state)
        return torch.stack(outputs)


def run():
    torch.manual_seed(0)
    attn = RecurrentLinearAttention(3).double()
    head = nn.Linear(3, 1).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = head(attn(x)).squeeze(-1)
    loss = (y ** 2).mean()
    loss.backward()
    return {"y": y.detach(), "q.weight.grad": attn.q.weight.grad, "v.weight.grad": attn.v.weight.grad}
