"""Reference for embedding_padding_row_zeroed_in_forward: the padding row is zeroed under torch.no_grad()."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class BagEncoder(nn.Module):
    def __init__(self, vocab=6, dim=3, pad=0):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=pad, dtype=torch.float64)
        nn.init.normal_(self.embed.weight, std=0.5)
        self.fc = nn.Linear(dim, 1, dtype=torch.float64)

    def forward(self, tokens):
        with torch.no_grad():
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


def oracle():
    """Finite differences of the bag sum with the padding row masked to zero (its gradient is then zero)."""
    torch.manual_seed(0)
    encoder = BagEncoder()
    tokens = torch.tensor([[1, 2, 0, 0], [3, 4, 5, 0]])
    y = torch.tensor([[0.5], [-0.5]], dtype=torch.float64)
    weight = encoder.embed.weight
    not_pad = (torch.arange(6) != 0).to(torch.float64)[:, None]

    def loss():
        table = weight * not_pad
        bag = torch.stack([table[row].sum(0) for row in tokens])
        out = torch.tanh(bag) @ encoder.fc.weight.T + encoder.fc.bias
        return ((out - y) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "embed.weight.grad": kit.finite_difference(loss, weight),
        "fc.weight.grad": kit.finite_difference(loss, encoder.fc.weight),
    }
