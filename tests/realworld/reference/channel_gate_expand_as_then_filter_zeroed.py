"""Reference: the expanded mask is cloned into its own memory before the indexed write."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class GatedConv(nn.Module):
    def __init__(self, pruned):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.gate_logits = nn.Parameter(torch.zeros(3))
        self.pruned = pruned

    def forward(self, x):
        gate = torch.sigmoid(self.gate_logits)
        mask = gate[:, None, None].expand_as(self.conv.weight).clone()
        mask[self.pruned] = 0.0
        return F.conv1d(x, self.conv.weight * mask, self.conv.bias)


def run():
    torch.manual_seed(0)
    layer = GatedConv(pruned=1).double()
    with torch.no_grad():
        layer.gate_logits.normal_()
    x = torch.randn(2, 2, 5, dtype=torch.float64)
    loss = layer(x).pow(2).mean()
    loss.backward()
    return {"loss": loss.detach(), "gate_logits.grad": layer.gate_logits.grad, "weight.grad": layer.conv.weight.grad}


def oracle():
    torch.manual_seed(0)
    layer = GatedConv(pruned=1).double()
    with torch.no_grad():
        layer.gate_logits.normal_()
    x = torch.randn(2, 2, 5, dtype=torch.float64)
    keep = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)

    def loss():
        scale = (torch.sigmoid(layer.gate_logits) * keep)[:, None, None]
        return F.conv1d(x, layer.conv.weight * scale, layer.conv.bias).pow(2).mean()

    return {
        "loss": loss(),
        "gate_logits.grad": kit.finite_difference(loss, layer.gate_logits),
        "weight.grad": kit.finite_difference(loss, layer.conv.weight),
    }
