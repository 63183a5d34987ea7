"""Extracting features into a preallocated torch.zeros bank under no_grad, for k-NN evaluation.

Pattern from: https://github.com/facebookresearch/dino/blob/main/eval_knn.py
In our words: a `@torch.no_grad()` function allocates `features = torch.zeros(n, dim)` and fills it
batch by batch (`features[start:end] = model(batch)`, then `index_copy_`), then the bank is
normalised in place. Nothing is recorded, so the writes are ordinary buffer filling.
"""
import torch
from torch import nn
from torch.nn import functional as F

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "preallocated-buffer-filled-under-no-grad",
    "expect": "runs",
    "report": "https://github.com/facebookresearch/dino/blob/main/eval_knn.py",
}


@torch.no_grad()
def extract_features(model, data, batch_size=3):
    features = torch.zeros(data.shape[0], 2, dtype=torch.float64)
    for start in range(0, data.shape[0], batch_size):
        batch = data[start:start + batch_size]
        features[start:start + batch.shape[0]] = model(batch)
    order = torch.arange(data.shape[0] - 1, -1, -1)
    shuffled = torch.zeros_like(features)
    shuffled.index_copy_(0, order, features)
    shuffled.div_(shuffled.norm(dim=1, keepdim=True))
    return shuffled


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.GELU(), nn.Linear(3, 2)).double()
    data = torch.randn(7, 4, dtype=torch.float64)
    bank = extract_features(model, data)
    query = F.normalize(model(data[:2]), dim=1)
    similarity = query @ bank.T
    loss = similarity.logsumexp(dim=1).mean()
    loss.backward()
    return {"bank": bank, "similarity": similarity.detach(), "0.weight.grad": model[0].weight.grad}
