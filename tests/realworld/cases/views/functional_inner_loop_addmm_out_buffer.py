"""A MAML-style functional forward that writes each linear layer into a preallocated buffer with out=.

Reproduces: https://github.com/pytorch/pytorch/issues/93683
In our words: the maml benchmark failed with "addmm(): functions with out=... arguments don't
support automatic differentiation, but one of the arguments requires grad": a result was written
into an existing tensor with out= while the weights required grad.
"""
import torch

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "out-argument-with-grad",
    "expect": "raises",
    "error": "functions with out=... arguments don't support automatic differentiation",
    "report": "https://github.com/pytorch/pytorch/issues/93683",
}


def functional_forward(x, params, buffers):
    h = x
    for (weight, bias), buf in zip(params, buffers):
        h = torch.tanh(torch.addmm(bias, h, weight.t(), out=buf))
    return h


def run():
    torch.manual_seed(0)
    params = [
        (torch.randn(4, 3, dtype=torch.float64, requires_grad=True), torch.zeros(4, dtype=torch.float64, requires_grad=True)),
        (torch.randn(1, 4, dtype=torch.float64, requires_grad=True), torch.zeros(1, dtype=torch.float64, requires_grad=True)),
    ]
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)
    buffers = [torch.empty(5, 4, dtype=torch.float64), torch.empty(5, 1, dtype=torch.float64)]

    inner_loss = ((functional_forward(x, params, buffers) - y) ** 2).mean()
    grads = torch.autograd.grad(inner_loss, [p for pair in params for p in pair], create_graph=True)
    fast = [(w - 0.1 * gw, b - 0.1 * gb) for (w, b), gw, gb in zip(params, grads[0::2], grads[1::2])]
    outer_loss = ((functional_forward(x, fast, buffers) - y) ** 2).mean()
    outer_loss.backward()
    return {"outer_loss": outer_loss.detach(), "w0.grad": params[0][0].grad, "w1.grad": params[1][0].grad}
