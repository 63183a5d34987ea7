"""Reference for linear_attention_state_decay_inplace: a new state tensor each step."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


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
            state = state * self.decay + torch.outer(k[t], v[t])
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


def oracle():
    """The parallel (masked, decayed) form of linear attention; gradients by central differences."""
    torch.manual_seed(0)
    attn = RecurrentLinearAttention(3).double()
    head = nn.Linear(3, 1).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    t = torch.arange(5, dtype=torch.float64)
    decay = torch.where(t[:, None] >= t[None, :], 0.9 ** (t[:, None] - t[None, :]), torch.zeros(()))

    def forward():
        with torch.no_grad():
            q = torch.nn.functional.elu(x @ attn.q.weight.T) + 1
            k = torch.nn.functional.elu(x @ attn.k.weight.T) + 1
            v = x @ attn.v.weight.T
            return head((decay * (q @ k.T)) @ v).squeeze(-1)

    def loss():
        return (forward() ** 2).mean()

    return {
        "y": forward(),
        "q.weight.grad": kit.finite_difference(loss, attn.q.weight),
        "v.weight.grad": kit.finite_difference(loss, attn.v.weight),
    }
