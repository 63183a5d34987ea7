"""A YOLO-style detection head that initialises its objectness and class biases through a reshaped view of the conv bias.

Reproduces: https://github.com/hustvl/YOLOP/pull/17
In our words: on a newer torch the detector died while initialising the output biases: the code
reshapes `conv.bias` with `.view(na, -1)` and adds log-priors to some of its columns with `+=`.
That view belongs to a parameter that requires grad, so the write is refused; the fix came from
the corresponding YOLOv5 issue.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "view-of-leaf-inplace",
    "expect": "raises",
    "error": "a view of a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/hustvl/YOLOP/pull/17",
}


class Detect(nn.Module):
    def __init__(self, nc=2, anchors=3, ch=(4,), stride=(8.0,)):
        super().__init__()
        self.nc, self.na, self.no = nc, anchors, nc + 5
        self.stride = stride
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1, dtype=torch.float64) for c in ch)
        self._initialize_biases()

    def _initialize_biases(self):
        for mi, s in zip(self.m, self.stride):
            b = mi.bias.view(self.na, -1)
            b[:, 4] += math.log(8 / (640 / s) ** 2)
            b[:, 5:] += math.log(0.6 / (self.nc - 0.99))

    def forward(self, feats):
        return [m(f).view(f.shape[0], self.na, self.no, *f.shape[2:]) for m, f in zip(self.m, feats)]


def run():
    torch.manual_seed(0)
    head = Detect()
    feat = torch.randn(1, 4, 2, 2, dtype=torch.float64)
    objectness = (torch.rand(1, 3, 2, 2, dtype=torch.float64) > 0.8).to(torch.float64)

    (pred,) = head([feat])
    loss = F.binary_cross_entropy_with_logits(pred[:, :, 4], objectness)
    loss.backward()
    return {"loss": loss.detach(), "bias": head.m[0].bias.detach(), "weight.grad": head.m[0].weight.grad}
