"""Reference for fused_conv_bn_weight_slice_assignment: the fused parameters are written under torch.no_grad()."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def fuse_conv_bn(conv, bn):
    std = torch.sqrt(bn.running_var + bn.eps)
    W = conv.weight * (bn.weight / std).reshape(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * bn.weight / std
    cconv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, bias=True, dtype=torch.float64)
    with torch.no_grad():
        cconv.weight[:, :, :, :] = W[:, :, :, :]
        cconv.bias[:] = b
    return cconv


def run():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 2, bias=False, dtype=torch.float64)
    bn = nn.BatchNorm2d(3, dtype=torch.float64)
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 3, 2, 2, dtype=torch.float64)

    fused = fuse_conv_bn(conv, bn)
    loss = F.mse_loss(fused(x), target)
    loss.backward()
    return {"loss": loss.detach(), "fused.weight": fused.weight.detach(), "fused.weight.grad": fused.weight.grad}


def oracle():
    """The fused kernel checked against conv followed by eval-mode batch norm, and finite differences of the loss."""
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 2, bias=False, dtype=torch.float64)
    bn = nn.BatchNorm2d(3, dtype=torch.float64)
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        weight = (conv.weight * scale[:, None, None, None]).clone()
        bias = bn.bias - bn.running_mean * scale
        reference_out = bn.eval()(conv(x))
        assert torch.allclose(F.conv2d(x, weight, bias), reference_out)

    def loss():
        return ((F.conv2d(x, weight, bias) - target) ** 2).mean()

    with torch.no_grad():
        value = loss()
    return {"loss": value, "fused.weight": weight, "fused.weight.grad": kit.finite_difference(loss, weight)}
