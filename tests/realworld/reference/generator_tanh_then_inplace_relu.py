"""Reference for generator_tanh_then_inplace_relu: the ReLU after the Tanh works out of place."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def make_generator(latent=3, hidden=5, pixels=4):
    return nn.Sequential(
        nn.Linear(latent, hidden, dtype=torch.float64),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, pixels, dtype=torch.float64),
        nn.Tanh(),
        nn.ReLU(),
    )


def run():
    torch.manual_seed(0)
    generator = make_generator()
    z = torch.randn(6, 3, dtype=torch.float64)
    real = torch.rand(6, 4, dtype=torch.float64)

    fake = generator(z)
    loss = ((fake - real) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "0.weight.grad": generator[0].weight.grad, "2.weight.grad": generator[2].weight.grad}


def oracle():
    """Finite differences of the generator written as one expression."""
    torch.manual_seed(0)
    generator = make_generator()
    z = torch.randn(6, 3, dtype=torch.float64)
    real = torch.rand(6, 4, dtype=torch.float64)
    w0, b0, w2, b2 = generator[0].weight, generator[0].bias, generator[2].weight, generator[2].bias

    def loss():
        hidden = torch.clamp(z @ w0.T + b0, min=0)
        fake = torch.clamp(torch.tanh(hidden @ w2.T + b2), min=0)
        return ((fake - real) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "0.weight.grad": kit.finite_difference(loss, w0), "2.weight.grad": kit.finite_difference(loss, w2)}
