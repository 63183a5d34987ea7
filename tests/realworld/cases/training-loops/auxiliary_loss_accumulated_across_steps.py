"""A pose network steps on its 2D loss every iteration and backpropagates an accumulated 3D loss every few.

Reproduces: https://github.com/microsoft/voxelpose-pytorch/issues/47
In our words: the training loop added a loss term to a running sum over several iterations and
called backward on the sum only every few iterations, while the optimizer stepped every
iteration on another loss; with torch newer than 1.4 this raises, because the accumulated graph
refers to weights that the intermediate steps changed.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "loss-accumulated-across-steps",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/microsoft/voxelpose-pytorch/issues/47",
}

ACCUMULATION_STEPS = 2


class PoseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 5))
        self.head_2d = nn.Linear(5, 2)
        self.head_3d = nn.Linear(5, 3)

    def forward(self, x):
        feats = torch.tanh(self.backbone(x))
        return self.head_2d(feats), self.head_3d(feats)


def run():
    torch.manual_seed(0)
    model = PoseNet().double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs = torch.randn(4, 3, 4, dtype=torch.float64)
    targets_2d = torch.randn(4, 3, 2, dtype=torch.float64)
    targets_3d = torch.randn(4, 3, 3, dtype=torch.float64)

    loss_3d_total = 0
    for i in range(4):
        pred_2d, pred_3d = model(inputs[i])
        loss_2d = F.mse_loss(pred_2d, targets_2d[i])
        loss_3d_total = loss_3d_total + F.mse_loss(pred_3d, targets_3d[i])

        optimizer.zero_grad()
        loss_2d.backward(retain_graph=True)
        optimizer.step()

        if (i + 1) % ACCUMULATION_STEPS == 0:
            optimizer.zero_grad()
            loss_3d_total.backward()
            optimizer.step()
            loss_3d_total = 0

    return {
        "backbone.0.weight": model.backbone[0].weight.detach(),
        "head_2d.weight": model.head_2d.weight.detach(),
        "head_3d.weight": model.head_3d.weight.detach(),
    }
