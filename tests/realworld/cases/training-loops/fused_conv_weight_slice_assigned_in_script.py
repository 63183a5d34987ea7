"""A script folds BatchNorm into the preceding convolution and writes the fused kernel into a new conv.

Reproduces: https://github.com/PingoLH/FCHarDNet/issues/61
In our words: the user's test script merged each conv and its batch norm into one convolution,
assigning the fused kernel with `cconv.weight[:, :, :, :] = W[:, :, :, :]`, and the script died
on that line because the new convolution's weight is a parameter that requires grad. Here the
fused model is then fine-tuned for one step.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "parameter-slice-assign-outside-no-grad",
    "expect": "raises",
    "error": "leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/PingoLH/FCHarDNet/issues/61",
}


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
