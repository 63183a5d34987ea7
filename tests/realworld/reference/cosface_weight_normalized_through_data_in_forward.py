"""Reference for cosface_weight_normalized_through_data_in_forward: the weights are normalised inside the graph."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class CosFaceLoss(nn.Module):
    def __init__(self, in_features, out_features, s=4.0, m=0.3):
        super().__init__()
        self.s, self.m = s, m
        self.fc = nn.Linear(in_features, out_features, bias=False, dtype=torch.float64)
        nn.init.normal_(self.fc.weight)

    def forward(self, x, labels):
        x = F.normalize(x, p=2, dim=1)
        wf = F.linear(x, F.normalize(self.fc.weight, p=2, dim=1))
        target = wf.gather(1, labels[:, None]).squeeze(1)
        numerator = self.s * (target - self.m)
        others = wf.masked_fill(F.one_hot(labels, wf.shape[1]).bool(), float("-inf"))
        denominator = torch.exp(numerator) + torch.exp(self.s * others).sum(1)
        return -(numerator - torch.log(denominator)).mean()


def run():
    torch.manual_seed(0)
    embed = nn.Linear(4, 3, dtype=torch.float64)
    criterion = CosFaceLoss(3, 5)
    x = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 4, 1])

    loss = criterion(embed(x), labels)
    loss.backward()
    return {"loss": loss.detach(), "fc.weight.grad": criterion.fc.weight.grad, "embed.weight.grad": embed.weight.grad}


def oracle():
    """Finite differences of the CosFace loss with both normalisations and the margin written out."""
    torch.manual_seed(0)
    embed = nn.Linear(4, 3, dtype=torch.float64)
    criterion = CosFaceLoss(3, 5)
    x = torch.randn(6, 4, dtype=torch.float64)
    labels = [0, 1, 2, 3, 4, 1]
    weight = criterion.fc.weight

    def loss():
        e = x @ embed.weight.T + embed.bias
        e = e / torch.sqrt((e**2).sum(1, keepdim=True))
        w = weight / torch.sqrt((weight**2).sum(1, keepdim=True))
        cos = e @ w.T
        total = 0.0
        for i, y in enumerate(labels):
            num = 4.0 * (cos[i, y] - 0.3)
            rest = sum(torch.exp(4.0 * cos[i, j]) for j in range(5) if j != y)
            total = total + num - torch.log(torch.exp(num) + rest)
        return -total / 6

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "fc.weight.grad": kit.finite_difference(loss, weight),
        "embed.weight.grad": kit.finite_difference(loss, embed.weight),
    }
