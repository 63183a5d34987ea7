"""Reference: the tied decoder multiplies by a clone of the weight, as nn.Embedding's docs advise."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class TinyLM(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, max_norm=1.0)
        self.mix = nn.Linear(dim, dim)

    def forward(self, tokens):
        h = torch.tanh(self.mix(self.embed(tokens)))
        return h @ self.embed.weight.clone().t()


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


def oracle():
    torch.manual_seed(0)
    model = TinyLM(6, 3).double()
    with torch.no_grad():
        model.embed.weight.mul_(0.2)
    weight, mix = model.embed.weight, model.mix
    assert float(weight.detach().norm(dim=1).max()) < 1.0
    first = torch.tensor([0, 2, 3])
    second = torch.tensor([1, 4, 5])

    def xent(tokens, targets):
        logits = torch.tanh(weight[tokens] @ mix.weight.t() + mix.bias) @ weight.t()
        return (torch.logsumexp(logits, 1) - logits[torch.arange(3), targets]).mean()

    def loss():
        return xent(first, second) + xent(second, first)

    return {
        "loss": loss(),
        "embed.grad": kit.finite_difference(loss, weight),
        "mix.grad": kit.finite_difference(loss, mix.weight),
    }
