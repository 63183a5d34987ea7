"""Reference: forward marks the modified input dirty, so autograd rebases the caller's tensor."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class SliceAccumulate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, buffer, update):
        buffer[1:3] += update
        ctx.mark_dirty(buffer)
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


def oracle():
    torch.manual_seed(0)
    memory = Memory().double()
    with torch.no_grad():
        memory.update.normal_()
    x = torch.randn(2, dtype=torch.float64)
    pad = torch.zeros(4, 2, dtype=torch.float64)
    pad[1, 0] = pad[2, 1] = 1.0

    def loss():
        slots = memory.encode.weight @ x + memory.encode.bias + pad @ memory.update
        return slots.sum() + (slots * slots).sum()

    return {
        "loss": loss(),
        "update.grad": kit.finite_difference(loss, memory.update),
        "encode.weight.grad": kit.finite_difference(loss, memory.encode.weight),
    }
