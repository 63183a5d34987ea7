"""Reference for survival_cumprod_written_in_place: torch.cumprod."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class SurvivalHead(nn.Module):
    def __init__(self, features, steps):
        super().__init__()
        self.hazard = nn.Linear(features, steps)

    def forward(self, x):
        survival = 1 - torch.sigmoid(self.hazard(x))
        return torch.cumprod(survival, dim=-1)


def run():
    torch.manual_seed(0)
    head = SurvivalHead(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    curve = head(x)
    loss = -torch.log(curve[:, -1]).mean() + curve.sum()
    loss.backward()
    return {"curve": curve.detach(), "hazard.weight.grad": head.hazard.weight.grad}


def oracle():
    """The products multiplied out step by step into new tensors; gradient by central differences."""
    torch.manual_seed(0)
    head = SurvivalHead(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)

    def curve():
        with torch.no_grad():
            survival = 1 - torch.sigmoid(head.hazard(x))
            columns = [survival[:, 0]]
            for t in range(1, 4):
                columns.append(columns[-1] * survival[:, t])
            return torch.stack(columns, dim=-1)

    def loss():
        c = curve()
        return -torch.log(c[:, -1]).mean() + c.sum()

    return {"curve": curve(), "hazard.weight.grad": kit.finite_difference(loss, head.hazard.weight)}
