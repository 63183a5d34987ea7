"""Reference for max_norm_constraint_on_data_before_backward: the constraint is applied after backward."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4, dtype=torch.float64)
        self.fc2 = nn.Linear(4, 1, dtype=torch.float64)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def train_step(model, x, y, max_norm=0.2):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    model.fc2.weight.data.renorm_(2, 0, max_norm)
    return loss


def run():
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    loss = train_step(model, x, y)
    return {"loss": loss.detach(), "fc2.weight": model.fc2.weight.detach(), "fc1.weight.grad": model.fc1.weight.grad}


def oracle():
    """Finite differences of the loss at the weights the forward used; the constrained row in closed form."""
    torch.manual_seed(0)
    model = MLP()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)
    w2 = model.fc2.weight.detach()
    assert float(w2.norm()) > 0.2

    def loss():
        out = torch.tanh(x @ model.fc1.weight.T + model.fc1.bias) @ w2.T + model.fc2.bias
        return ((out - y) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "fc2.weight": w2 * (0.2 / w2.norm()), "fc1.weight.grad": kit.finite_difference(loss, model.fc1.weight)}
