"""A minimal GAN fits a sine curve; the discriminator steps before the generator's loss is backpropagated.

Reproduces: https://github.com/pytorch/pytorch/issues/39141
In our words: a short GAN script computed the discriminator's and the generator's losses from the
same forward pass, stepped the discriminator's optimizer, and only then called backward on the
generator's loss. It ran on torch 1.4 and raises from 1.5 on, because the generator's gradient
needs the discriminator weights that the step overwrote.
"""
import math

import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "optimizer-step-before-backward",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/pytorch/pytorch/issues/39141",
}

N_IDEAS = 3
ART_COMPONENTS = 4
BATCH = 5


def artist_works():
    points = torch.linspace(-1, 1, ART_COMPONENTS, dtype=torch.float64)
    phase = torch.linspace(0, 0.2, BATCH, dtype=torch.float64)[:, None]
    return torch.sin(points * math.pi + phase)


def run():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(N_IDEAS, 5), nn.Tanh(), nn.Linear(5, ART_COMPONENTS)).double()
    D = nn.Sequential(nn.Linear(ART_COMPONENTS, 5), nn.Tanh(), nn.Linear(5, 1), nn.Sigmoid()).double()
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    ideas = torch.randn(2, BATCH, N_IDEAS, dtype=torch.float64)

    for step in range(2):
        paintings = artist_works()
        G_paintings = G(ideas[step])
        prob_artist0 = D(paintings)
        prob_artist1 = D(G_paintings)

        D_loss = -torch.mean(torch.log(prob_artist0) + torch.log(1.0 - prob_artist1))
        G_loss = torch.mean(torch.log(1.0 - prob_artist1))

        opt_D.zero_grad()
        D_loss.backward(retain_graph=True)
        opt_D.step()

        opt_G.zero_grad()
        G_loss.backward()
        opt_G.step()

    return {
        "G.0.weight": G[0].weight.detach(),
        "G.2.bias": G[2].bias.detach(),
        "D.0.weight": D[0].weight.detach(),
        "D.2.weight": D[2].weight.detach(),
    }
