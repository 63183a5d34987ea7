"""A data loader reuses one NumPy buffer wrapped with torch.from_numpy and prefetches the next batch before backward.

Reproduces: https://github.com/mrdbourke/pytorch-deep-learning/issues/926
In our words: a tensor made with `torch.from_numpy` shares memory with the array, so writing into
the array later changes the tensor too (the course claimed otherwise). A loader that fills the
same buffer with the next batch before the current backward rewrites the inputs nn.Linear saved
for its weight gradient, with no error.
"""
import numpy as np
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "from-numpy-array-written-after-wrap",
    "expect": "silent",
    "report": "https://github.com/mrdbourke/pytorch-deep-learning/issues/926",
}


class BufferedLoader:
    def __init__(self, data):
        self.data = data
        self.buffer = np.empty_like(data[0])

    def load(self, i):
        self.buffer[...] = self.data[i]
        return torch.from_numpy(self.buffer)


def run():
    torch.manual_seed(0)
    data = np.random.default_rng(0).standard_normal((2, 4, 3))
    targets = torch.randn(2, 4, 1, dtype=torch.float64)
    model = nn.Linear(3, 1).double()
    loader = BufferedLoader(data)

    x = loader.load(0)
    loss = ((model(x) - targets[0]) ** 2).mean()
    loader.load(1)
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": model.weight.grad}
