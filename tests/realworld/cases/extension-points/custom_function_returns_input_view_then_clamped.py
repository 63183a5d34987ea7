"""A custom autograd.Function returns a slice of its input; the caller clamps the result in place.

Reproduces: https://github.com/pytorch/pytorch/issues/26546
In our words: when the output of an autograd.Function is a view (of its input, or of something
made inside forward) and the caller then modifies that output in place, autograd cannot rewrite
the custom node; old versions silently dropped gradients, current ones refuse the in-place op.
Here a cropping Function returns `x[:, :k]` and the model clamps the crop with `clamp_`.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "custom-function-returns-view-written-inplace",
    "expect": "raises",
    "error": "is a view and is being modified inplace",
    "report": "https://github.com/pytorch/pytorch/issues/26546",
}


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
        cropped.clamp_(min=-0.5, max=0.5)
        return cropped


def run():
    torch.manual_seed(0)
    head = Head().double()
    x = torch.randn(4, 3, dtype=torch.float64)
    out = head(x)
    loss = (out * torch.arange(3, dtype=torch.float64)).sum()
    loss.backward()
    return {"out": out.detach(), "fc.weight.grad": head.fc.weight.grad}
