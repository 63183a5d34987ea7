"""WGAN critic training: the critic's weights are clamped in place through .data before each step.

Pattern from: https://github.com/martinarjovsky/WassersteinGAN/blob/master/main.py
In our words: inside the critic loop, `for p in netD.parameters(): p.data.clamp_(lower, upper)`,
then the critic's gradients are zeroed and a new forward and backward run. The clamp happens between
iterations, when no graph is alive, and `.data` hides it from autograd by design.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "weight-clipping-through-data",
    "expect": "runs",
    "report": "https://github.com/martinarjovsky/WassersteinGAN/blob/master/main.py",
}


def run():
    torch.manual_seed(0)
    netD = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1)).double()
    netG = nn.Sequential(nn.Linear(3, 2)).double()
    optimizerD = torch.optim.RMSprop(netD.parameters(), lr=5e-3)
    clamp_lower, clamp_upper = -0.3, 0.3
    real = torch.randn(5, 2, dtype=torch.float64)
    for _ in range(3):
        for p in netD.parameters():
            p.data.clamp_(clamp_lower, clamp_upper)
        netD.zero_grad()
        noise = torch.randn(5, 3, dtype=torch.float64)
        fake = netG(noise).detach()
        errD = netD(fake).mean() - netD(real).mean()
        errD.backward()
        optimizerD.step()
    return {"errD": errD.detach(), "0.weight": netD[0].weight, "2.weight": netD[2].weight}
