"""A small deterministic VAE and a total-correlation discriminator."""
import torch
from torch import nn


class VAE(nn.Module):
    def __init__(self, dim=4, hidden=5, z_dim=2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 2 * z_dim))
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        self.z_dim = z_dim

    def forward(self, x, eps):
        stats = self.encoder(x)
        mu, logvar = stats[:, : self.z_dim], stats[:, self.z_dim :]
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar, z


class Discriminator(nn.Module):
    def __init__(self, z_dim=2, hidden=5):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def forward(self, z):
        return self.net(z)


def permute_dims(z, perms):
    return torch.stack([z[perm, j] for j, perm in enumerate(perms)], dim=1)
