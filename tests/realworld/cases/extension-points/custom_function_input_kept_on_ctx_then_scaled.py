"""A custom autograd.Function keeps its input on ctx; the caller rescales that input afterwards.

Reproduces: https://github.com/pytorch/tutorials/issues/2797
In our words: the tutorial told users ctx can cache arbitrary objects, so a feature-scaling
Function stored its input as a plain ctx attribute instead of through save_for_backward. When the
training loop rescales the same feature buffer in place before backward, autograd has no version
to check and the weight gradient is computed from the rescaled features, without any error.
"""
import torch

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "custom-function-ctx-attribute-mutated",
    "expect": "silent",
    "report": "https://github.com/pytorch/tutorials/issues/2797",
}


class FeatureScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, scale):
        ctx.features = features
        ctx.save_for_backward(scale)
        return features * scale

    @staticmethod
    def backward(ctx, grad_out):
        (scale,) = ctx.saved_tensors
        return grad_out * scale, (grad_out * ctx.features).sum(0)


def run():
    torch.manual_seed(0)
    scale = torch.randn(3, dtype=torch.float64, requires_grad=True)
    features = torch.randn(4, 3, dtype=torch.float64)
    target = torch.randn(4, 3, dtype=torch.float64)

    scaled = FeatureScale.apply(features, scale)
    loss = ((scaled - target) ** 2).mean()
    features.sub_(features.mean(0))
    loss.backward()
    return {"loss": loss.detach(), "scale.grad": scale.grad, "features": features}
