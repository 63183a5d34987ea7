"""Reference for gan_discriminator_step_before_generator_backward: the generator's loss reads the stepped discriminator."""
import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

N_IDEAS = 3
ART_COMPONENTS = 4
BATCH = 5


def artist_works():
    points = torch.linspace(-1, 1, ART_COMPONENTS, dtype=torch.float64)
    phase = torch.linspace(0, 0.2, BATCH, dtype=torch.float64)[:, None]
    return torch.sin(points * math.pi + phase)


def build():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(N_IDEAS, 5), nn.Tanh(), nn.Linear(5, ART_COMPONENTS)).double()
    D = nn.Sequential(nn.Linear(ART_COMPONENTS, 5), nn.Tanh(), nn.Linear(5, 1), nn.Sigmoid()).double()
    return G, D


def names(G, D):
    return {
        "G.0.weight": G[0].weight.detach(),
        "G.2.bias": G[2].bias.detach(),
        "D.0.weight": D[0].weight.detach(),
        "D.2.weight": D[2].weight.detach(),
    }


def run():
    G, D = build()
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    ideas = torch.randn(2, BATCH, N_IDEAS, dtype=torch.float64)

    for step in range(2):
        paintings = artist_works()
        G_paintings = G(ideas[step])
        prob_artist0 = D(paintings)
        prob_artist1 = D(G_paintings)

        D_loss = -torch.mean(torch.log(prob_artist0) + torch.log(1.0 - prob_artist1))

        opt_D.zero_grad()
        D_loss.backward(retain_graph=True)
        opt_D.step()

        G_loss = torch.mean(torch.log(1.0 - D(G_paintings)))
        opt_G.zero_grad()
        G_loss.backward()
        opt_G.step()

    return names(G, D)


def oracle():
    """Alternating SGD by hand: each gradient by central differences at the weights of that moment."""
    G, D = build()
    ideas = torch.randn(2, BATCH, N_IDEAS, dtype=torch.float64)
    for step in range(2):
        def d_loss():
            with torch.no_grad():
                return -torch.mean(torch.log(D(artist_works())) + torch.log(1.0 - D(G(ideas[step]))))

        def g_loss():
            with torch.no_grad():
                return torch.mean(torch.log(1.0 - D(G(ideas[step]))))

        d_grads = [kit.finite_difference(d_loss, p) for p in D.parameters()]
        with torch.no_grad():
            for p, g in zip(D.parameters(), d_grads):
                p -= 0.1 * g
        g_grads = [kit.finite_difference(g_loss, p) for p in G.parameters()]
        with torch.no_grad():
            for p, g in zip(G.parameters(), g_grads):
                p -= 0.1 * g
    return names(G, D)
