"""Knowledge-graph embeddings renormalised to the unit ball in place after every optimizer step.

Pattern from: https://github.com/pytorch/pytorch/blob/main/torch/nn/functional.py
In our words: like `F.embedding(..., max_norm=...)`, which renormalises the rows it looks up under
`torch.no_grad()`, a TransE-style model calls `weight.renorm_(p=2, dim=0, maxnorm=1)` inside
`torch.no_grad()` after `optimizer.step()`. No graph is alive at that point.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "weight-renorm-under-no-grad-after-step",
    "expect": "runs",
    "report": "https://github.com/pytorch/pytorch/blob/main/torch/nn/functional.py",
}


class TransE(nn.Module):
    def __init__(self, entities=5, relations=2, dim=3):
        super().__init__()
        self.entity = nn.Embedding(entities, dim)
        self.relation = nn.Embedding(relations, dim)

    def forward(self, heads, rels, tails):
        return (self.entity(heads) + self.relation(rels) - self.entity(tails)).norm(p=2, dim=1)

    def normalize_embeddings(self):
        with torch.no_grad():
            self.entity.weight.renorm_(p=2, dim=0, maxnorm=1)


def run():
    torch.manual_seed(0)
    model = TransE().double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    heads, rels, tails = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 0]), torch.tensor([3, 4, 1])
    corrupt = torch.tensor([4, 0, 3])
    for _ in range(3):
        optimizer.zero_grad()
        loss = torch.relu(1.0 + model(heads, rels, tails) - model(heads, rels, corrupt)).mean()
        loss.backward()
        optimizer.step()
        model.normalize_embeddings()
    return {"loss": loss.detach(), "entity.weight": model.entity.weight, "relation.weight": model.relation.weight}
