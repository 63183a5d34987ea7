"""Reference: the block that holds BatchNorm is not checkpointed, so its statistics update once."""
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        h = self.block(x)
        return self.head(h)


def run():
    torch.manual_seed(0)
    net = Net().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, 1, dtype=torch.float64)
    loss = ((net(x) - y) ** 2).mean()
    loss.backward()
    bn = net.block[1]
    return {
        "loss": loss.detach(),
        "running_mean": bn.running_mean.clone(),
        "running_var": bn.running_var.clone(),
        "linear.weight.grad": net.block[0].weight.grad,
    }


def oracle():
    torch.manual_seed(0)
    net = Net().double()
    x = torch.randn(6, 3, dtype=torch.float64)
    bn = net.block[1]
    with torch.no_grad():
        h = x @ net.block[0].weight.t() + net.block[0].bias
    m = bn.momentum
    return {
        "running_mean": m * h.mean(0),
        "running_var": (1 - m) * torch.ones(4, dtype=torch.float64) + m * h.var(0, unbiased=True),
    }
