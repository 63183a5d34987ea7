"""A per-sample feature function fills a fresh torch.zeros(n) by index and is batched with torch.vmap.

Reproduces: https://github.com/pytorch/pytorch/issues/103329
In our words: inside a vmapped function the reporter allocated `torch.zeros(shape)` and wrote
values derived from the batched input into it by index; the new tensor is not batched, so vmap
cannot write a batch of values into it in place and stops (zeros_like worked).
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "vmap-inplace-write-into-unbatched-tensor",
    "expect": "raises",
    "error": "vmap: inplace arithmetic",
    "report": "https://github.com/pytorch/pytorch/issues/103329",
}


def summary_features(signal):
    feats = torch.zeros(3, dtype=signal.dtype)
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
