"""Reference for detect_head_bias_prior_written_through_view: the priors are added under torch.no_grad()."""
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class Detect(nn.Module):
    def __init__(self, nc=2, anchors=3, ch=(4,), stride=(8.0,)):
        super().__init__()
        self.nc, self.na, self.no = nc, anchors, nc + 5
        self.stride = stride
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1, dtype=torch.float64) for c in ch)
        self._initialize_biases()

    def _initialize_biases(self):
        for mi, s in zip(self.m, self.stride):
            with torch.no_grad():
                b = mi.bias.view(self.na, -1)
                b[:, 4] += math.log(8 / (640 / s) ** 2)
                b[:, 5:] += math.log(0.6 / (self.nc - 0.99))

    def forward(self, feats):
        return [m(f).view(f.shape[0], self.na, self.no, *f.shape[2:]) for m, f in zip(self.m, feats)]


def run():
    torch.manual_seed(0)
    head = Detect()
    feat = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    objectness = (torch.rand(1, 3, 2, 2, dtype=torch.float64) > 0.8).to(torch.float64)

    (pred,) = head([feat])
    loss = F.binary_cross_entropy_with_logits(pred[:, :, 4], objectness)
    loss.backward()
    return {"loss": loss.detach(), "bias": head.m[0].bias.detach(), "weight.grad": head.m[0].weight.grad}


def oracle():
    """The biases with the priors added per anchor in closed form, and finite differences of the objectness loss."""
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 21, 1, dtype=torch.float64)
    feat = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    objectness = (torch.rand(1, 3, 2, 2, dtype=torch.float64) > 0.8).to(torch.float64)
    prior = torch.zeros(3, 7, dtype=torch.float64)
    prior[:, 4] = math.log(8 / (640 / 8.0) ** 2)
    prior[:, 5:] = math.log(0.6 / (2 - 0.99))
    bias = conv.bias.detach() + prior.reshape(-1)
    weight = conv.weight

    def loss():
        logits = F.conv2d(feat, weight, bias).reshape(1, 3, 7, 2, 2)[:, :, 4]
        p = 1 / (1 + torch.exp(-logits))
        return -(objectness * torch.log(p) + (1 - objectness) * torch.log(1 - p)).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "bias": bias, "weight.grad": kit.finite_difference(loss, weight)}
