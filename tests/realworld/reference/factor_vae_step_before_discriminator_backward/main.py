"""Reference for factor_vae_step_before_discriminator_backward: the discriminator reads the codes detached."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from model import VAE, Discriminator, permute_dims

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402


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
    D_tc_loss = 0.5 * (F.cross_entropy(D(z.detach()), zeros) + F.cross_entropy(D_z_pperm, ones))

    optim_D.zero_grad()
    D_tc_loss.backward()
    optim_D.step()

    return {
        "encoder.0.weight": vae.encoder[0].weight.detach(),
        "decoder.2.weight": vae.decoder[2].weight.detach(),
        "D.net.0.weight": D.net[0].weight.detach(),
        "D.net.2.bias": D.net[2].bias.detach(),
    }


def oracle():
    """One SGD step for each network by hand, with gradients by central differences.

    The VAE gradient is taken at the initial weights; the discriminator sees the codes of the
    initial encoder (first batch) and of the stepped encoder (second batch) as constants.
    """
    torch.manual_seed(0)
    vae = VAE().double()
    D = Discriminator().double()
    x_true1 = torch.randn(6, 4, dtype=torch.float64)
    x_true2 = torch.randn(6, 4, dtype=torch.float64)
    eps1 = torch.randn(6, 2, dtype=torch.float64)
    eps2 = torch.randn(6, 2, dtype=torch.float64)
    perms = [torch.randperm(6) for _ in range(2)]
    ones = torch.ones(6, dtype=torch.long)
    zeros = torch.zeros(6, dtype=torch.long)

    def vae_loss():
        with torch.no_grad():
            x_recon, mu, logvar, z = vae(x_true1, eps1)
            d_z = D(z)
            kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
            return F.mse_loss(x_recon, x_true1, reduction="sum") / 6 + kld + GAMMA * (d_z[:, 0] - d_z[:, 1]).mean()

    with torch.no_grad():
        z = vae(x_true1, eps1)[3]
    grads = [kit.finite_difference(vae_loss, p) for p in vae.parameters()]
    with torch.no_grad():
        for p, g in zip(vae.parameters(), grads):
            p -= 0.05 * g
        z_pperm = permute_dims(vae(x_true2, eps2)[3], perms)

    def d_loss():
        with torch.no_grad():
            return 0.5 * (F.cross_entropy(D(z), zeros) + F.cross_entropy(D(z_pperm), ones))

    grads = [kit.finite_difference(d_loss, p) for p in D.parameters()]
    with torch.no_grad():
        for p, g in zip(D.parameters(), grads):
            p -= 0.05 * g
    return {
        "encoder.0.weight": vae.encoder[0].weight.detach(),
        "decoder.2.weight": vae.decoder[2].weight.detach(),
        "D.net.0.weight": D.net[0].weight.detach(),
        "D.net.2.bias": D.net[2].bias.detach(),
    }
