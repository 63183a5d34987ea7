"""Reference: the Function saves its input with save_for_backward and the caller centres a copy."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class FeatureScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, scale):
        ctx.save_for_backward(features, scale)
        return features * scale

    @staticmethod
    def backward(ctx, grad_out):
        features, scale = ctx.saved_tensors
        return grad_out * scale, (grad_out * features).sum(0)


def run():
    torch.manual_seed(0)
    scale = torch.randn(3, dtype=torch.float64, requires_grad=True)
    features = torch.randn(4, 3, dtype=torch.float64)
    target = torch.randn(4, 3, dtype=torch.float64)

    scaled = FeatureScale.apply(features, scale)
    loss = ((scaled - target) ** 2).mean()
    features = features - features.mean(0)
    loss.backward()
    return {"loss": loss.detach(), "scale.grad": scale.grad, "features": features}


def oracle():
    torch.manual_seed(0)
    scale = torch.randn(3, dtype=torch.float64)
    features = torch.randn(4, 3, dtype=torch.float64)
    target = torch.randn(4, 3, dtype=torch.float64)

    def loss():
        return ((features * scale - target) ** 2).mean()

    return {
        "loss": loss(),
        "scale.grad": kit.finite_difference(loss, scale),
        "features": features - features.mean(0),
    }
