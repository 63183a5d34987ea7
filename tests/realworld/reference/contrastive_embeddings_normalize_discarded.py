"""Reference: the normalised embeddings are assigned."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def info_nce(anchors, positives, temperature=0.5):
    anchors = F.normalize(anchors, dim=1)
    positives = F.normalize(positives, dim=1)
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


def oracle():
    torch.manual_seed(0)
    encoder = nn.Linear(5, 3).double()
    views_a = torch.randn(4, 5, dtype=torch.float64)
    views_b = views_a + 0.1 * torch.randn(4, 5, dtype=torch.float64)

    def loss():
        a = views_a @ encoder.weight.t() + encoder.bias
        b = views_b @ encoder.weight.t() + encoder.bias
        a = a / a.norm(dim=1, keepdim=True)
        b = b / b.norm(dim=1, keepdim=True)
        logits = a @ b.t() / 0.5
        return (torch.logsumexp(logits, 1) - logits.diagonal()).mean()

    return {"loss": loss(), "encoder.weight.grad": kit.finite_difference(loss, encoder.weight)}
