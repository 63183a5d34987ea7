"""A gated custom autograd.Function saves its input; the block then adds the gate output into that input in place.

Reproduces: https://github.com/linkedin/Liger-Kernel/issues/272
In our words: fused kernels written as autograd.Functions save a tensor for backward and later
code writes into that same tensor in place (there, the next kernel stored gradients in it). Here a
residual block accumulates the Function's output into the hidden state it just passed in, so the
saved input is at a newer version when backward runs.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "custom-function-saved-input-mutated-after-apply",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/linkedin/Liger-Kernel/issues/272",
}


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
        h += SigmoidGate.apply(h, self.gate)
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
