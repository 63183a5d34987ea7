"""A contrastive loss calls F.normalize on its embeddings as a statement, so the logits use raw dot products.

Reproduces: https://github.com/imatge-upc/retrieval-2016-deepvision/issues/5
In our words: `normalize(feats)` returns a normalised copy; called without using the result, the
features stay unnormalised, and every similarity computed afterwards is a plain dot product
instead of a cosine. Nothing fails.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "out-of-place-result-discarded",
    "expect": "silent",
    "report": "https://github.com/imatge-upc/retrieval-2016-deepvision/issues/5",
}


def info_nce(anchors, positives, temperature=0.5):
    F.normalize(anchors, dim=1)
    F.normalize(positives, dim=1)
    logits = anchors @ positives.t() / temperature
    labels = torch.arange(anchors.shape[0])
    return F.cross_entropy(logits, labels)


def run():
    torch.manual_seed(0)
    encoder = nn.Linear(5, 3).double()
    views_a = torch.randn(4, 5, dtype=torch.float64)
    views_b = views_a + 0.1 * torch.randn(4, 5, dtype=torch.float64)
    loss = info_nce(encoder(views_a), encoder(views_b))
    loss.backward()
    return {"loss": loss.detach(), "encoder.weight.grad": encoder.weight.grad}
