"""A minimax objective: backward the first loss with retain_graph, step, then backward the second loss.

Reproduces: https://github.com/thuml/Anomaly-Transformer/issues/1
In our words: the solver's minimax strategy called `loss1.backward(retain_graph=True)`,
`optimizer.step()`, `loss2.backward()`, `optimizer.step()` on two losses of one forward pass; the
second backward raised because the first step had overwritten weights the retained graph needs.
Here a small reconstruction model with a series and a prior association is trained the same way.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "retain-graph-step-second-backward",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/thuml/Anomaly-Transformer/issues/1",
}

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


def run():
    torch.manual_seed(0)
    model = AssociationModel(3, 4).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(5, 3, dtype=torch.float64)

    optimizer.zero_grad()
    output, series, prior = model(x)
    rec_loss = F.mse_loss(output, x)
    loss1 = rec_loss - K * kl(series, prior.detach())
    loss2 = rec_loss + K * kl(series.detach(), prior)

    loss1.backward(retain_graph=True)
    optimizer.step()
    loss2.backward()
    optimizer.step()

    return {
        "encoder.weight": model.encoder.weight.detach(),
        "prior.weight": model.prior.weight.detach(),
        "decoder.weight": model.decoder.weight.detach(),
    }
