"""FactorVAE training step: the VAE optimizer steps before the discriminator loss is backpropagated.

Reproduces: https://github.com/1Konny/FactorVAE/issues/15
In our words: the VAE loss includes the discriminator's logits on the sampled codes; the code
calls `vae_loss.backward(retain_graph=True)` and `optim_VAE.step()`, then builds the
discriminator loss from those same logits and calls backward, which raises from torch 1.5 on:
the logits' graph runs through encoder weights that the VAE step has just overwritten.
"""
import torch
import torch.nn.functional as F

from model import VAE, Discriminator, permute_dims

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "optimizer-step-before-backward",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/1Konny/FactorVAE/issues/15",
}

GAMMA = 2.0


def run():
    torch.manual_seed(0)
    vae = VAE().double()
    D = Discriminator().double()
    optim_VAE = torch.optim.SGD(vae.parameters(), lr=0.05)
    optim_D = torch.optim.SGD(D.parameters(), lr=0.05)
    x_true1 = torch.randn(6, 4, dtype=torch.float64)
    x_true2 = torch.randn(6, 4, dtype=torch.float64)
    eps1 = torch.randn(6, 2, dtype=torch.float64)
    eps2 = torch.randn(6, 2, dtype=torch.float64)
    perms = [torch.randperm(6) for _ in range(2)]
    ones = torch.ones(6, dtype=torch.long)
    zeros = torch.zeros(6, dtype=torch.long)

    x_recon, mu, logvar, z = vae(x_true1, eps1)
    recon_loss = F.mse_loss(x_recon, x_true1, reduction="sum") / 6
    kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
    D_z = D(z)
    vae_tc_loss = (D_z[:, 0] - D_z[:, 1]).mean()
    vae_loss = recon_loss + kld + GAMMA * vae_tc_loss

    optim_VAE.zero_grad()
    vae_loss.backward(retain_graph=True)
    optim_VAE.step()

    _, _, _, z_prime = vae(x_true2, eps2)
    z_pperm = permute_dims(z_prime, perms).detach()
    D_z_pperm = D(z_pperm)
    D_tc_loss = 0.5 * (F.cross_entropy(D_z, zeros) + F.cross_entropy(D_z_pperm, ones))

    optim_D.zero_grad()
    D_tc_loss.backward()
    optim_D.step()

    return {
        "encoder.0.weight": vae.encoder[0].weight.detach(),
        "decoder.2.weight": vae.decoder[2].weight.detach(),
        "D.net.0.weight": D.net[0].weight.detach(),
        "D.net.2.bias": D.net[2].bias.detach(),
    }
