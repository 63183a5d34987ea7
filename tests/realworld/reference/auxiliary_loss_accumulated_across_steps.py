"""Reference for auxiliary_loss_accumulated_across_steps: accumulate the 3D gradients, not the 3D losses."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

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


def names(model):
    return {
        "backbone.0.weight": model.backbone[0].weight.detach(),
        "head_2d.weight": model.head_2d.weight.detach(),
        "head_3d.weight": model.head_3d.weight.detach(),
    }


def data():
    inputs = torch.randn(4, 3, 4, dtype=torch.float64)
    targets_2d = torch.randn(4, 3, 2, dtype=torch.float64)
    targets_3d = torch.randn(4, 3, 3, dtype=torch.float64)
    return inputs, targets_2d, targets_3d


def run():
    torch.manual_seed(0)
    model = PoseNet().double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs, targets_2d, targets_3d = data()
    params = list(model.parameters())

    grads_3d = [torch.zeros_like(p) for p in params]
    for i in range(4):
        pred_2d, pred_3d = model(inputs[i])
        loss_2d = F.mse_loss(pred_2d, targets_2d[i])
        loss_3d = F.mse_loss(pred_3d, targets_3d[i])
        for acc, g in zip(grads_3d, torch.autograd.grad(loss_3d, params, retain_graph=True, allow_unused=True)):
            if g is not None:
                acc += g

        optimizer.zero_grad()
        loss_2d.backward()
        optimizer.step()

        if (i + 1) % ACCUMULATION_STEPS == 0:
            optimizer.zero_grad()
            for p, acc in zip(params, grads_3d):
                p.grad = acc
            optimizer.step()
            grads_3d = [torch.zeros_like(p) for p in params]

    return names(model)


def oracle():
    """The same schedule by hand: each 3D term differentiated at the weights of its own iteration."""
    torch.manual_seed(0)
    model = PoseNet().double()
    inputs, targets_2d, targets_3d = data()
    params = list(model.parameters())
    pending = [torch.zeros_like(p) for p in params]
    for i in range(4):
        def loss_2d():
            with torch.no_grad():
                return F.mse_loss(model(inputs[i])[0], targets_2d[i])

        def loss_3d():
            with torch.no_grad():
                return F.mse_loss(model(inputs[i])[1], targets_3d[i])

        for acc, p in zip(pending, params):
            acc += kit.finite_difference(loss_3d, p)
        step = [kit.finite_difference(loss_2d, p) for p in params]
        with torch.no_grad():
            for p, g in zip(params, step):
                p -= 0.1 * g
        if (i + 1) % ACCUMULATION_STEPS == 0:
            with torch.no_grad():
                for p, g in zip(params, pending):
                    p -= 0.1 * g
            pending = [torch.zeros_like(p) for p in params]
    return names(model)
