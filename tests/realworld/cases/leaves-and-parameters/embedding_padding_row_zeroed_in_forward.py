"""A bag-of-words encoder that re-zeroes the padding row of its embedding at the start of every forward.

Reproduces: https://github.com/pytorch/pytorch/issues/6411
In our words: after a custom initialisation of an nn.Embedding created with padding_idx, the
padding row was no longer zero, to the reporter's surprise. Zeroing that row again inside
forward, `self.embed.weight[pad] = 0`, writes a view of a parameter outside no_grad.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "padding-row-zeroed-in-forward",
    "expect": "raises",
    "error": "a view of a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/pytorch/pytorch/issues/6411",
}


class BagEncoder(nn.Module):
    def __init__(self, vocab=6, dim=3, pad=0):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=pad, dtype=torch.float64)
        nn.init.normal_(self.embed.weight, std=0.5)
        self.fc = nn.Linear(dim, 1, dtype=torch.float64)

    def forward(self, tokens):
        self.embed.weight[self.embed.padding_idx] = 0.0
        return self.fc(torch.tanh(self.embed(tokens).sum(1)))


def run():
    torch.manual_seed(0)
    encoder = BagEncoder()
    tokens = torch.tensor([[1, 2, 0, 0], [3, 4, 5, 0]])
    y = torch.tensor([[0.5], [-0.5]], dtype=torch.float64)

    loss = ((encoder(tokens) - y) ** 2).mean()
    loss.backward()
    return {"loss": loss.detach(), "embed.weight.grad": encoder.embed.weight.grad, "fc.weight.grad": encoder.fc.weight.grad}
