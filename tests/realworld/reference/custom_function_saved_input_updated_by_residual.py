"""Reference: the residual is added out of place, so the saved input keeps its version."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class SigmoidGate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gate):
        ctx.save_for_backward(x, gate)
        return x * torch.sigmoid(gate)

    @staticmethod
    def backward(ctx, grad_out):
        x, gate = ctx.saved_tensors
        s = torch.sigmoid(gate)
        return grad_out * s, (grad_out * x * s * (1 - s)).sum(0)


class GatedBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.gate = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        h = self.proj(x)
        h = h + SigmoidGate.apply(h, self.gate)
        return h


def run():
    torch.manual_seed(0)
    block = GatedBlock(3).double()
    with torch.no_grad():
        block.gate.normal_()
    x = torch.randn(4, 3, dtype=torch.float64)
    loss = block(x).pow(2).sum()
    loss.backward()
    return {"loss": loss.detach(), "proj.weight.grad": block.proj.weight.grad, "gate.grad": block.gate.grad}


def oracle():
    torch.manual_seed(0)
    block = GatedBlock(3).double()
    with torch.no_grad():
        block.gate.normal_()
    x = torch.randn(4, 3, dtype=torch.float64)

    def loss():
        h = x @ block.proj.weight.t() + block.proj.bias
        return (h * (1 + torch.sigmoid(block.gate))).pow(2).sum()

    return {
        "loss": loss(),
        "proj.weight.grad": kit.finite_difference(loss, block.proj.weight),
        "gate.grad": kit.finite_difference(loss, block.gate),
    }
