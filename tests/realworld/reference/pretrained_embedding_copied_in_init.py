"""Reference for pretrained_embedding_copied_in_init: copy the vectors under torch.no_grad()."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class SentenceClassifier(nn.Module):
    def __init__(self, vocab_size, dim, classes, init_emb, freeze=False):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        if freeze:
            self.emb.weight.requires_grad = False
        with torch.no_grad():
            self.emb.weight.copy_(init_emb)
        self.out = nn.Linear(dim, classes)

    def forward(self, tokens):
        return self.out(self.emb(tokens).mean(dim=1))


def run():
    torch.manual_seed(0)
    init_emb = torch.randn(6, 3, dtype=torch.float64)
    model = SentenceClassifier(6, 3, 2, init_emb).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    tokens = torch.tensor([[0, 1, 2], [3, 4, 5], [1, 1, 4]])
    labels = torch.tensor([0, 1, 1])
    for _ in range(2):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        optimizer.step()
    return {"emb.weight": model.emb.weight.detach(), "out.weight": model.out.weight.detach()}


def oracle():
    """Two SGD steps by hand on plain tensors, gradients by central differences."""
    torch.manual_seed(0)
    init_emb = torch.randn(6, 3, dtype=torch.float64)
    nn.Embedding(6, 3)  # draws the same random numbers as the model's own embedding
    out = nn.Linear(3, 2).double()
    emb, weight, bias = init_emb.clone(), out.weight.detach().clone(), out.bias.detach().clone()
    tokens = torch.tensor([[0, 1, 2], [3, 4, 5], [1, 1, 4]])
    labels = torch.tensor([0, 1, 1])

    def loss():
        return F.cross_entropy(emb[tokens].mean(dim=1) @ weight.T + bias, labels)

    for _ in range(2):
        grads = [kit.finite_difference(loss, t) for t in (emb, weight, bias)]
        for t, g in zip((emb, weight, bias), grads):
            t -= 0.5 * g
    return {"emb.weight": emb, "out.weight": weight}
