"""A classifier head of Linear layers each followed by an in-place ReLU, with dropout between.

Pattern from: https://github.com/pytorch/vision/blob/main/torchvision/models/alexnet.py
In our words: `nn.Sequential(nn.Dropout(), nn.Linear(...), nn.ReLU(inplace=True), ...)`. The ReLU
overwrites the Linear output, which Linear's backward does not need (it saved its input), and the
ReLU keeps its result for its own backward.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "inplace-relu-after-linear",
    "expect": "runs",
    "report": "https://github.com/pytorch/vision/blob/main/torchvision/models/alexnet.py",
}


class Head(nn.Module):
    def __init__(self, features=6, hidden=5, classes=3):
        super().__init__()
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Linear(features, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, classes),
        )

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.classifier(x)


def run():
    torch.manual_seed(0)
    head = Head().double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 0])
    loss = nn.functional.cross_entropy(head(x), labels)
    loss.backward()
    return {
        "loss": loss.detach(),
        "1.weight.grad": head.classifier[1].weight.grad,
        "4.weight.grad": head.classifier[4].weight.grad,
        "6.bias.grad": head.classifier[6].bias.grad,
    }
