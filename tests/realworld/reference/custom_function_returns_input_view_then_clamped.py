"""Reference: the crop is clamped out of place (the Function's output is left untouched)."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class Crop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, width):
        ctx.full = x.shape[1]
        return x[:, :width]

    @staticmethod
    def backward(ctx, grad_out):
        grad = grad_out.new_zeros(grad_out.shape[0], ctx.full)
        grad[:, : grad_out.shape[1]] = grad_out
        return grad, None


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 5)

    def forward(self, x):
        cropped = Crop.apply(self.fc(x), 3)
        cropped = cropped.clamp(min=-0.5, max=0.5)
        return cropped


def run():
    torch.manual_seed(0)
    head = Head().double()
    x = torch.randn(4, 3, dtype=torch.float64)
    out = head(x)
    loss = (out * torch.arange(3, dtype=torch.float64)).sum()
    loss.backward()
    return {"out": out.detach(), "fc.weight.grad": head.fc.weight.grad}


def oracle():
    torch.manual_seed(0)
    head = Head().double()
    x = torch.randn(4, 3, dtype=torch.float64)

    def out():
        return (x @ head.fc.weight.t() + head.fc.bias)[:, :3].clamp(-0.5, 0.5)

    def loss():
        return (out() * torch.arange(3, dtype=torch.float64)).sum()

    with torch.no_grad():
        return {"out": out(), "fc.weight.grad": kit.finite_difference(loss, head.fc.weight)}
