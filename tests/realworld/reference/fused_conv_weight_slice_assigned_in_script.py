"""Reference for fused_conv_weight_slice_assigned_in_script: write the fused kernel under torch.no_grad()."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def fuse(conv, bn):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    W = conv.weight * scale[:, None, None, None]
    b = bn.bias - bn.running_mean * scale
    return W, b


def run():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, kernel_size=3, padding=1, bias=False).double()
    bn = nn.BatchNorm2d(3).double()
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 1.5)
    bn.eval()

    W, b = fuse(conv, bn)
    cconv = nn.Conv2d(2, 3, kernel_size=3, padding=1, bias=True).double()
    with torch.no_grad():
        cconv.weight[:, :, :, :] = W[:, :, :, :]
        cconv.bias[:] = b[:]

    x = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    out = cconv(x)
    optimizer = torch.optim.SGD(cconv.parameters(), lr=0.1)
    loss = out.pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return {"out": out.detach(), "cconv.weight": cconv.weight.detach(), "cconv.bias": cconv.bias.detach()}


def oracle():
    """The output of conv followed by eval-mode BatchNorm; the step by hand with central differences."""
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, kernel_size=3, padding=1, bias=False).double()
    bn = nn.BatchNorm2d(3).double()
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 1.5)
    bn.eval()
    nn.Conv2d(2, 3, kernel_size=3, padding=1, bias=True)  # draws the random numbers of cconv's initialization
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        out = bn(conv(x))
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        weight = conv.weight * scale[:, None, None, None]
        bias = bn.bias - bn.running_mean * scale

    def loss():
        return torch.nn.functional.conv2d(x, weight, bias, padding=1).pow(2).mean()

    grad_w = kit.finite_difference(loss, weight)
    grad_b = kit.finite_difference(loss, bias)
    return {"out": out, "cconv.weight": weight - 0.1 * grad_w, "cconv.bias": bias - 0.1 * grad_b}
