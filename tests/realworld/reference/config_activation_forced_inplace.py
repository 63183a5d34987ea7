"""Reference for config_activation_forced_inplace: the builder constructs out-of-place activations."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}


def build_activation(name):
    return ACTIVATIONS[name](inplace=False)


class SqueezeExciteBlock(nn.Module):
    def __init__(self, dim, config):
        super().__init__()
        self.fc = nn.Linear(dim, dim, dtype=torch.float64)
        self.squeeze = nn.Linear(dim, 2, dtype=torch.float64)
        self.excite = nn.Linear(2, dim, dtype=torch.float64)
        self.act = build_activation(config["activation"])

    def forward(self, x):
        h = self.fc(x)
        gate = torch.sigmoid(self.excite(torch.relu(self.squeeze(h))))
        h = self.act(h)
        return h * gate


def run():
    torch.manual_seed(0)
    block = SqueezeExciteBlock(4, {"activation": "silu"})
    x = torch.randn(5, 4, dtype=torch.float64)

    out = block(x)
    loss = (out.sum(1) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "fc.weight.grad": block.fc.weight.grad, "squeeze.weight.grad": block.squeeze.weight.grad}


def oracle():
    """Finite differences of the block with SiLU written as h / (1 + exp(-h))."""
    torch.manual_seed(0)
    block = SqueezeExciteBlock(4, {"activation": "silu"})
    x = torch.randn(5, 4, dtype=torch.float64)

    def linear(layer, inp):
        return inp @ layer.weight.T + layer.bias

    def loss():
        h = linear(block.fc, x)
        gate = 1 / (1 + torch.exp(-linear(block.excite, torch.clamp(linear(block.squeeze, h), min=0))))
        out = h / (1 + torch.exp(-h)) * gate
        return (out.sum(1) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "fc.weight.grad": kit.finite_difference(loss, block.fc.weight),
        "squeeze.weight.grad": kit.finite_difference(loss, block.squeeze.weight),
    }
