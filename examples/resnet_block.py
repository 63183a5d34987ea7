"""A torchvision-style residual block: in-place ops that are safe, and must not be reported.

Convolution and batch norm save their *inputs* and weights, never their outputs, so the in-place
ReLUs and `out += identity` overwrite nothing autograd needs.  gradsafe keeps these memory savings.
"""

import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out += identity
        out = self.relu(out)
        return out


def run():
    """A forward and backward pass (safe in-place ops only: gradsafe leaves this file alone)."""
    torch.manual_seed(0)
    block = BasicBlock(4)
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    block(x).sum().backward()
    return {"grad_x": x.grad}


if __name__ == "__main__":
    print(run()["grad_x"].shape)
