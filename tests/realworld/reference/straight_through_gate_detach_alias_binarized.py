"""Reference for straight_through_gate_detach_alias_binarized: the hard gate is a clone of the detached probabilities."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class GatedExperts(nn.Module):
    def __init__(self, dim=3, experts=2):
        super().__init__()
        self.router = nn.Linear(dim, experts, dtype=torch.float64)
        self.experts = nn.ModuleList(nn.Linear(dim, 1, dtype=torch.float64) for _ in range(experts))

    def forward(self, x):
        probs = torch.sigmoid(self.router(x))
        hard = probs.detach().clone()
        hard[hard < 0.5] = 0.0
        hard[hard >= 0.5] = 1.0
        gate = hard + probs - probs.detach()
        outs = torch.cat([expert(x) for expert in self.experts], dim=1)
        return (gate * outs).sum(1)


def run():
    torch.manual_seed(0)
    layer = GatedExperts()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, dtype=torch.float64)

    loss = ((layer(x) - y) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "router.weight.grad": layer.router.weight.grad, "expert0.weight.grad": layer.experts[0].weight.grad}


def oracle():
    """Finite differences of the straight-through surrogate: hard gate and probabilities frozen at the start, plus the live probabilities."""
    torch.manual_seed(0)
    layer = GatedExperts()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, dtype=torch.float64)
    router, e0, e1 = layer.router, layer.experts[0], layer.experts[1]

    def probs():
        return 1 / (1 + torch.exp(-(x @ router.weight.T + router.bias)))

    with torch.no_grad():
        frozen = probs().clone()
        hard = (frozen >= 0.5).to(torch.float64)

    def surrogate():
        gate = hard + probs() - frozen
        outs = torch.cat([x @ e0.weight.T + e0.bias, x @ e1.weight.T + e1.bias], dim=1)
        return (((gate * outs).sum(1) - y) ** 2).mean()

    with torch.no_grad():
        value = surrogate()
    return {
        "loss": value,
        "router.weight.grad": kit.finite_difference(surrogate, router.weight),
        "expert0.weight.grad": kit.finite_difference(surrogate, e0.weight),
    }
