"""A ResNet basic block that adds the shortcut into the second batch norm's output in place.

Pattern from: https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py
In our words: `out += identity` after conv, bn, and a final in-place ReLU. The sum writes into the
batch norm's output, which batch norm's backward never reads, and addition saves nothing, so the
block trains exactly as its out-of-place version would.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "residual-add-into-batchnorm-output",
    "expect": "runs",
    "report": "https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py",
}


class BasicBlock(nn.Module):
    def __init__(self, planes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
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
    torch.manual_seed(0)
    block = BasicBlock().double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    out = block(x)
    loss = out.sum() + (out ** 2).mean()
    loss.backward()
    return {
        "out": out.detach(),
        "x.grad": x.grad,
        "conv1.weight.grad": block.conv1.weight.grad,
        "bn2.bias.grad": block.bn2.bias.grad,
    }
