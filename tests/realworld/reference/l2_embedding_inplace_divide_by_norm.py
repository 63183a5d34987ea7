"""Reference for l2_embedding_inplace_divide_by_norm: the normalised embedding is a new tensor."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class EmbeddingNetL2(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(4, 6, dtype=torch.float64), nn.Tanh(), nn.Linear(6, 3, dtype=torch.float64)
        )

    def forward(self, x):
        output = self.net(x)
        output = output / output.norm(dim=1, keepdim=True)
        return output


def run():
    torch.manual_seed(0)
    model = EmbeddingNetL2()
    anchor, positive, negative = torch.randn(3, 5, 4, dtype=torch.float64)

    loss = F.triplet_margin_loss(model(anchor), model(positive), model(negative), margin=2.0)
    loss.backward()
    return {"loss": loss.detach(), "net.0.weight.grad": model.net[0].weight.grad, "net.2.weight.grad": model.net[2].weight.grad}


def oracle():
    """Finite differences of the triplet loss with the normalisation and the margin written out."""
    torch.manual_seed(0)
    model = EmbeddingNetL2()
    anchor, positive, negative = torch.randn(3, 5, 4, dtype=torch.float64)
    w0, b0, w2, b2 = model.net[0].weight, model.net[0].bias, model.net[2].weight, model.net[2].bias

    def embed(x):
        e = torch.tanh(x @ w0.T + b0) @ w2.T + b2
        return e / torch.sqrt((e**2).sum(1, keepdim=True))

    def loss():
        a, p, n = embed(anchor), embed(positive), embed(negative)
        d_ap = torch.sqrt(((a - p + 1e-6) ** 2).sum(1))
        d_an = torch.sqrt(((a - n + 1e-6) ** 2).sum(1))
        return torch.clamp(d_ap - d_an + 2.0, min=0).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "net.0.weight.grad": kit.finite_difference(loss, w0),
        "net.2.weight.grad": kit.finite_difference(loss, w2),
    }
