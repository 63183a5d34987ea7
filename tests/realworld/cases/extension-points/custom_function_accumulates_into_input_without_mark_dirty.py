"""A custom autograd.Function adds updates into a slice of its input inside forward without ctx.mark_dirty.

Reproduces: https://github.com/pytorch/pytorch/issues/5871
In our words: to save memory the reporter wrote a Function whose forward does `a[i:j] += b` and
returns `a`, without telling autograd that `a` was modified. The caller keeps using the original
tensor afterwards; autograd still believes that tensor does not depend on `b`, so the part of the
loss that reads it sends no gradient to `b`.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "custom-function-forward-mutates-input-without-mark-dirty",
    "expect": "silent",
    "report": "https://github.com/pytorch/pytorch/issues/5871",
}


class SliceAccumulate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, buffer, update):
        buffer[1:3] += update
        return buffer

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out, grad_out[1:3]


class Memory(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(2, 4)
        self.update = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        slots = self.encode(x)
        written = SliceAccumulate.apply(slots, self.update)
        return written.sum() + (slots * slots).sum()


def run():
    torch.manual_seed(0)
    memory = Memory().double()
    with torch.no_grad():
        memory.update.normal_()
    x = torch.randn(2, dtype=torch.float64)
    loss = memory(x)
    loss.backward()
    return {"loss": loss.detach(), "update.grad": memory.update.grad, "encode.weight.grad": memory.encode.weight.grad}
