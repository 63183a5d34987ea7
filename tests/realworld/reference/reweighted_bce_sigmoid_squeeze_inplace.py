"""Reference for reweighted_bce_sigmoid_squeeze_inplace: the squeeze is computed out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class ReweightedBCELoss(nn.Module):
    def __init__(self, class_weight, eps=1e-3):
        super().__init__()
        self.register_buffer("class_weight", class_weight)
        self.eps = eps

    def forward(self, logits, target):
        probs = logits.sigmoid()
        probs = probs.mul(1 - 2 * self.eps).add(self.eps)
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


def oracle():
    """Finite differences of the loss written as one formula."""
    torch.manual_seed(0)
    classifier = nn.Linear(4, 3, dtype=torch.float64)
    class_weight = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    x = torch.randn(6, 4, dtype=torch.float64)
    target = (torch.rand(6, 3, dtype=torch.float64) > 0.5).to(torch.float64)
    eps = 1e-3

    def loss():
        p = eps + (1 - 2 * eps) / (1 + torch.exp(-(x @ classifier.weight.T + classifier.bias)))
        return ((-(target * torch.log(p) + (1 - target) * torch.log(1 - p))) * class_weight).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "weight.grad": kit.finite_difference(loss, classifier.weight),
        "bias.grad": kit.finite_difference(loss, classifier.bias),
    }
