"""Reference for minimax_retain_graph_step_then_second_backward: recompute the forward pass for the second loss."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

K = 0.5


class AssociationModel(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.encoder = nn.Linear(dim, hidden)
        self.prior = nn.Linear(dim, hidden)
        self.decoder = nn.Linear(hidden, dim)

    def forward(self, x):
        h = torch.tanh(self.encoder(x))
        series = torch.softmax(h, dim=-1)
        prior = torch.softmax(self.prior(x), dim=-1)
        return self.decoder(h), series, prior


def kl(p, q):
    return (p * (p.log() - q.log())).sum(-1).mean()


def names(model):
    return {
        "encoder.weight": model.encoder.weight.detach(),
        "prior.weight": model.prior.weight.detach(),
        "decoder.weight": model.decoder.weight.detach(),
    }


def run():
    torch.manual_seed(0)
    model = AssociationModel(3, 4).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(5, 3, dtype=torch.float64)

    optimizer.zero_grad()
    output, series, prior = model(x)
    rec_loss = F.mse_loss(output, x)
    loss1 = rec_loss - K * kl(series, prior.detach())
    loss1.backward()
    optimizer.step()

    optimizer.zero_grad()
    output, series, prior = model(x)
    rec_loss = F.mse_loss(output, x)
    loss2 = rec_loss + K * kl(series.detach(), prior)
    loss2.backward()
    optimizer.step()

    return names(model)


def oracle():
    """Two SGD steps by hand, the first on loss1 and the second on loss2, by central differences.

    Inside ``no_grad`` the detached terms are plain values, so each loss is written with the
    differentiated part varying and the other part frozen at the current weights.
    """
    torch.manual_seed(0)
    model = AssociationModel(3, 4).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    params = list(model.parameters())

    def snapshot():
        with torch.no_grad():
            return model(x)

    for sign in (-1, 1):
        _, series0, prior0 = snapshot()

        def loss():
            with torch.no_grad():
                output, series, prior = model(x)
                if sign < 0:
                    return F.mse_loss(output, x) - K * kl(series, prior0)
                return F.mse_loss(output, x) + K * kl(series0, prior)

        grads = [kit.finite_difference(loss, p) for p in params]
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= 0.1 * g
    return names(model)
