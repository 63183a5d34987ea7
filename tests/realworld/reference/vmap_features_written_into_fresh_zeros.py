"""Reference: the buffer is allocated with signal.new_zeros, so it is batched like its input."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def summary_features(signal):
    feats = signal.new_zeros(3)
    feats[0] = signal.mean()
    feats[1] = (signal**2).mean()
    feats[2] = signal[-1] - signal[0]
    return feats


def run():
    torch.manual_seed(0)
    head = nn.Linear(3, 1).double()
    signals = torch.randn(4, 6, dtype=torch.float64)
    targets = torch.randn(4, 1, dtype=torch.float64)
    feats = torch.vmap(summary_features)(signals)
    loss = ((head(feats) - targets) ** 2).mean()
    loss.backward()
    return {"feats": feats, "loss": loss.detach(), "head.weight.grad": head.weight.grad}


def oracle():
    torch.manual_seed(0)
    head = nn.Linear(3, 1).double()
    signals = torch.randn(4, 6, dtype=torch.float64)
    targets = torch.randn(4, 1, dtype=torch.float64)
    feats = torch.stack(
        [signals.mean(1), (signals**2).mean(1), signals[:, -1] - signals[:, 0]], dim=1
    )

    def loss():
        return ((feats @ head.weight.t() + head.bias - targets) ** 2).mean()

    return {"feats": feats, "loss": loss(), "head.weight.grad": kit.finite_difference(loss, head.weight)}
