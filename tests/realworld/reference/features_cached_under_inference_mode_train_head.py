"""Reference: features are cached under torch.no_grad(), which yields ordinary tensors."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def run():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(4, 3), nn.Tanh()).double()
    probe = nn.Linear(3, 2).double()
    images = torch.randn(5, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0, 1])

    with torch.no_grad():
        features = encoder(images)

    opt = torch.optim.SGD(probe.parameters(), lr=0.5)
    logits = probe(features)
    loss = nn.functional.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    grad = probe.weight.grad.clone()
    opt.step()
    return {"loss": loss.detach(), "probe.weight.grad": grad, "probe.weight": probe.weight.detach()}


def oracle():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(4, 3), nn.Tanh()).double()
    probe = nn.Linear(3, 2).double()
    images = torch.randn(5, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0, 1])
    with torch.no_grad():
        features = torch.tanh(images @ encoder[0].weight.t() + encoder[0].bias)

    def loss():
        logits = features @ probe.weight.t() + probe.bias
        return (torch.logsumexp(logits, 1) - logits[torch.arange(5), labels]).mean()

    grad = kit.finite_difference(loss, probe.weight)
    return {"loss": loss(), "probe.weight.grad": grad, "probe.weight": probe.weight.detach() - 0.5 * grad}
