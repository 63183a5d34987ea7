"""A multi-label head that pins the first ("always present") label's probability after the sigmoid.

Reproduces: https://github.com/pytorch/pytorch/issues/9391
In our words: the reporter took a sigmoid of some values and then assigned into one entry of the
result. Backward failed, because sigmoid keeps its own output to compute its gradient and the
assignment overwrote it; the same formula spelled out with exp did not complain.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "saved-output-index-write",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/9391",
}


class MultiLabelHead(nn.Module):
    def __init__(self, features, labels):
        super().__init__()
        self.fc = nn.Linear(features, labels, dtype=torch.float64)

    def forward(self, x):
        probs = torch.sigmoid(self.fc(x))
        probs[:, 0] = 1.0
        return probs


def run():
    torch.manual_seed(0)
    head = MultiLabelHead(3, 4)
    x = torch.randn(5, 3, dtype=torch.float64)
    target = torch.rand(5, 4, dtype=torch.float64)

    probs = head(x)
    loss = ((probs - target) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "fc.weight.grad": head.fc.weight.grad, "fc.bias.grad": head.fc.bias.grad}
