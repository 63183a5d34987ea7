"""Reference: BatchNorm stops tracking running stats (torch.func.replace_all_batch_norm_modules_)."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def make_model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()


def run():
    torch.manual_seed(0)
    model = make_model()
    torch.func.replace_all_batch_norm_modules_(model)
    batch = torch.randn(5, 3, dtype=torch.float64)
    noise = 0.1 * torch.randn(2, 5, 3, dtype=torch.float64)
    views = batch + noise
    preds = torch.vmap(model)(views)
    loss = (preds[0] - preds[1]).pow(2).mean() + preds.mean() ** 2
    loss.backward()
    return {"preds": preds.detach(), "weight.grad": model[0].weight.grad}


def oracle():
    torch.manual_seed(0)
    model = make_model()
    batch = torch.randn(5, 3, dtype=torch.float64)
    noise = 0.1 * torch.randn(2, 5, 3, dtype=torch.float64)
    views = batch + noise
    lin1, bn, _, lin2 = model

    def forward(v):
        h = v @ lin1.weight.t() + lin1.bias
        h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + bn.eps) * bn.weight + bn.bias
        return torch.tanh(h) @ lin2.weight.t() + lin2.bias

    def preds():
        return torch.stack([forward(views[0]), forward(views[1])])

    def loss():
        p = preds()
        return (p[0] - p[1]).pow(2).mean() + p.mean() ** 2

    with torch.no_grad():
        return {"preds": preds(), "weight.grad": kit.finite_difference(loss, lin1.weight)}
