"""A sentence model copies pretrained word vectors into its embedding inside __init__ and is trained.

Reproduces: https://github.com/dasguptar/treelstm.pytorch/pull/26
In our words: after removing `.data` while porting to torch 0.4, the model's constructor did
`self.emb.weight.copy_(init_emb)` for embeddings that are not frozen, and building the model
raised because the embedding weight is a leaf that requires grad.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "parameter-copy-at-setup-outside-no-grad",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/dasguptar/treelstm.pytorch/pull/26",
}


class SentenceClassifier(nn.Module):
    def __init__(self, vocab_size, dim, classes, init_emb, freeze=False):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, dim)
        if freeze:
            self.emb.weight.requires_grad = False
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
