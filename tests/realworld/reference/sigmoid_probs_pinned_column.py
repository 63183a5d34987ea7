"""Reference for sigmoid_probs_pinned_column: the sigmoid output is cloned before the assignment."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class MultiLabelHead(nn.Module):
    def __init__(self, features, labels):
        super().__init__()
        self.fc = nn.Linear(features, labels, dtype=torch.float64)

    def forward(self, x):
        probs = torch.sigmoid(self.fc(x)).clone()
        probs[:, 0] = 1.0
        return probs


def run():
    torch.manual_seed(0)
    head = MultiLabelHead(3, 4)
    x = torch.randn(5, 3, dtype=torch.float64)
    target = torch.rand(5, 4, dtype=torch.float64)

    probs = head(x)
    loss = ((probs - target) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "fc.weight.grad": head.fc.weight.grad, "fc.bias.grad": head.fc.bias.grad}


def oracle():
    """Finite differences of the original computation, run under no_grad."""
    torch.manual_seed(0)
    head = MultiLabelHead(3, 4)
    x = torch.randn(5, 3, dtype=torch.float64)
    target = torch.rand(5, 4, dtype=torch.float64)
    weight, bias = head.fc.weight, head.fc.bias

    def loss():
        probs = torch.sigmoid(x @ weight.T + bias)
        probs[:, 0] = 1.0
        return ((probs - target) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "fc.weight.grad": kit.finite_difference(loss, weight),
        "fc.bias.grad": kit.finite_difference(loss, bias),
    }
