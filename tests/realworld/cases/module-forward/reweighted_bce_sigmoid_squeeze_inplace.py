"""A class-reweighted binary cross-entropy loss module that squeezes the sigmoid probabilities away from 0 and 1.

Reproduces: https://github.com/wutong16/DistributionBalancedLoss/issues/20
In our words: training with a re-balanced multi-label loss failed in loss.backward() with the
in-place error naming the output of a sigmoid: the loss rescaled the probabilities in place after
the sigmoid, which needs that output for its own gradient.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "saved-output-mul-inplace",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/wutong16/DistributionBalancedLoss/issues/20",
}


class ReweightedBCELoss(nn.Module):
    def __init__(self, class_weight, eps=1e-3):
        super().__init__()
        self.register_buffer("class_weight", class_weight)
        self.eps = eps

    def forward(self, logits, target):
        probs = logits.sigmoid()
        probs.mul_(1 - 2 * self.eps).add_(self.eps)
        per_label = -(target * probs.log() + (1 - target) * (1 - probs).log())
        return (per_label * self.class_weight).mean()


def run():
    torch.manual_seed(0)
    classifier = nn.Linear(4, 3, dtype=torch.float64)
    criterion = ReweightedBCELoss(torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64))
    x = torch.randn(6, 4, dtype=torch.float64)
    target = (torch.rand(6, 3, dtype=torch.float64) > 0.5).to(torch.float64)

    loss = criterion(classifier(x), target)
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": classifier.weight.grad, "bias.grad": classifier.bias.grad}
