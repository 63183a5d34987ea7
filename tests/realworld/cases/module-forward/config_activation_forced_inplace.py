"""A config-driven block builder that always constructs its activation with inplace=True (here SiLU).

Reproduces: https://github.com/analysiscenter/batchflow/pull/621
In our words: a model library forced `inplace=True` on every activation it built from a config,
and choosing 'silu' broke training with an obscure autograd error; the proposed change was to let
the config turn in-place off.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "config-activation-inplace",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/analysiscenter/batchflow/pull/621",
}

ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}


def build_activation(name):
    return ACTIVATIONS[name](inplace=True)


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
