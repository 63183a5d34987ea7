"""Reference for unpack_scale_shift_then_exp_inplace: exponentiate out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class FiLM(nn.Module):
    def __init__(self, cond_dim, features):
        super().__init__()
        self.features = features
        self.cond = nn.Linear(cond_dim, 2 * features)

    def forward(self, h, c):
        log_scale, shift = self.cond(c).view(-1, 2, self.features).transpose(0, 1)
        scale = log_scale.exp()
        return h * scale + shift


def run():
    torch.manual_seed(0)
    film = FiLM(2, 3).double()
    h = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)
    out = film(h, c)
    loss = out.pow(2).mean()
    loss.backward()
    return {"out": out.detach(), "cond.weight.grad": film.cond.weight.grad, "cond.bias.grad": film.cond.bias.grad}


def oracle():
    """The output in closed form and the gradients by central differences."""
    torch.manual_seed(0)
    film = FiLM(2, 3).double()
    h = torch.randn(4, 3, dtype=torch.float64)
    c = torch.randn(4, 2, dtype=torch.float64)

    def forward():
        with torch.no_grad():
            raw = c @ film.cond.weight.T + film.cond.bias
            return h * torch.exp(raw[:, :3]) + raw[:, 3:]

    def loss():
        return forward().pow(2).mean()

    return {
        "out": forward(),
        "cond.weight.grad": kit.finite_difference(loss, film.cond.weight),
        "cond.bias.grad": kit.finite_difference(loss, film.cond.bias),
    }
