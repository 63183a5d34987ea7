"""A language model with nn.Embedding(max_norm=...) tied to its output layer sums the losses of two batches.

Reproduces: https://github.com/pytorch/pytorch/issues/26596
In our words: with max_norm set, the embedding lookup renormalises rows of its weight in place.
If that weight was already used elsewhere in the graph (there, `embedding.weight @ W.t()` before
the lookup), backward finds it modified. A tied decoder reads the weight, and the second batch's
lookup then renormalises it before the summed loss is backpropagated.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "library-op-renorms-weight-inplace",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/26596",
}


class TinyLM(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, max_norm=1.0)
        self.mix = nn.Linear(dim, dim)

    def forward(self, tokens):
        h = torch.tanh(self.mix(self.embed(tokens)))
        return h @ self.embed.weight.t()


def run():
    torch.manual_seed(0)
    model = TinyLM(6, 3).double()
    with torch.no_grad():
        model.embed.weight.mul_(0.2)
    first = torch.tensor([0, 2, 3])
    second = torch.tensor([1, 4, 5])
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(first), second) + loss_fn(model(second), first)
    loss.backward()
    return {"loss": loss.detach(), "embed.grad": model.embed.weight.grad, "mix.grad": model.mix.weight.grad}
