"""A conv, batch-norm, in-place ReLU stem, the way every torchvision backbone starts.

Pattern from: https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py
In our words: `nn.ReLU(inplace=True)` right after `BatchNorm2d`. Batch norm's backward needs its
input and its saved statistics, not its output, so overwriting the output with ReLU is safe; the
ReLU itself keeps its own result for backward, which nobody touches afterwards.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "inplace-relu-after-batchnorm",
    "expect": "runs",
    "report": "https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py",
}


class Stem(nn.Module):
    def __init__(self, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(2, channels, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.pool = nn.MaxPool2d(kernel_size=2)

    def forward(self, x):
        x = self.conv(x)
        x = self.bn(x)
        x = self.relu(x)
        return self.pool(x)


def run():
    torch.manual_seed(0)
    model = Stem().double()
    images = torch.randn(3, 2, 6, 6, dtype=torch.float64)
    out = model(images)
    loss = (out ** 2).mean()
    loss.backward()
    return {
        "loss": loss.detach(),
        "conv.weight.grad": model.conv.weight.grad,
        "bn.weight.grad": model.bn.weight.grad,
        "bn.running_mean": model.bn.running_mean,
    }
