"""Folding a BatchNorm into the preceding convolution by slice-assigning the fused kernel into a new Conv2d, then fine-tuning.

Reproduces: https://github.com/PingoLH/FCHarDNet/issues/61
In our words: a script that merged batch-norm statistics into convolution weights failed at
`cconv.weight[:,:,:,:] = W[:,:,:,:]` with "a view of a leaf Variable that requires grad is being
used in an in-place operation": a parameter was written through a slice outside no_grad.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "parameter-init-by-index-write",
    "expect": "raises",
    "error": "leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/PingoLH/FCHarDNet/issues/61",
}


def fuse_conv_bn(conv, bn):
    std = torch.sqrt(bn.running_var + bn.eps)
    W = conv.weight * (bn.weight / std).reshape(-1, 1, 1, 1)
    b = bn.bias - bn.running_mean * bn.weight / std
    cconv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, bias=True, dtype=torch.float64)
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
