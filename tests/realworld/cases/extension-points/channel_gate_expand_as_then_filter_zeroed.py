"""A per-filter gate is broadcast to the conv weight's shape with expand_as, then one filter is zeroed by index.

Reproduces: https://github.com/pytorch/pytorch/issues/42726
In our words: expand_as returns a view whose elements share memory, so writing into it by index
is refused ("more than one element of the written-to tensor refers to a single memory
location"); the reporter met it building a pruning mask. Here a learnable soft gate is expanded
to the weight's shape and a pruned filter's mask is set to zero in place.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "inplace-write-into-expanded-view",
    "expect": "raises",
    "error": "more than one element of the written-to tensor refers to a single memory location",
    "report": "https://github.com/pytorch/pytorch/issues/42726",
}


class GatedConv(nn.Module):
    def __init__(self, pruned):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)
        self.gate_logits = nn.Parameter(torch.zeros(3))
        self.pruned = pruned

    def forward(self, x):
        gate = torch.sigmoid(self.gate_logits)
        mask = gate[:, None, None].expand_as(self.conv.weight)
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
