"""Reference for running_sum_into_grad_buffer: torch.cumsum instead of a leaf buffer."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def running_sum(scores, weights):
    return torch.cumsum(scores * weights, dim=0)


def run():
    torch.manual_seed(0)
    scores = torch.randn(5, dtype=torch.float64, requires_grad=True)
    weights = torch.rand(5, dtype=torch.float64, requires_grad=True)
    prefix = running_sum(scores, weights)
    loss = (prefix ** 2).sum()
    loss.backward()
    return {"prefix": prefix.detach(), "scores.grad": scores.grad, "weights.grad": weights.grad}


def oracle():
    """The prefix sums with a Python loop, gradients by central differences."""
    torch.manual_seed(0)
    scores = torch.randn(5, dtype=torch.float64)
    weights = torch.rand(5, dtype=torch.float64)

    def prefix():
        total, out = 0.0, []
        for i in range(5):
            total = total + float(scores[i]) * float(weights[i])
            out.append(total)
        return torch.tensor(out, dtype=torch.float64)

    def loss():
        return (prefix() ** 2).sum()

    return {
        "prefix": prefix(),
        "scores.grad": kit.finite_difference(loss, scores),
        "weights.grad": kit.finite_difference(loss, weights),
    }
