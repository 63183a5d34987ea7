"""Reference for functional_inner_loop_addmm_out_buffer: addmm returns a new tensor instead of writing out=."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def functional_forward(x, params, buffers):
    h = x
    for (weight, bias), buf in zip(params, buffers):
        h = torch.tanh(torch.addmm(bias, h, weight.t()))
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


def oracle():
    """Finite differences of the outer loss, the inner step taken with autograd on a fresh graph per call."""
    torch.manual_seed(0)
    w0 = torch.randn(4, 3, dtype=torch.float64)
    b0 = torch.zeros(4, dtype=torch.float64)
    w1 = torch.randn(1, 4, dtype=torch.float64)
    b1 = torch.zeros(1, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    def net(p):
        return torch.tanh(torch.tanh(x @ p[0].T + p[1]) @ p[2].T + p[3])

    def outer_loss():
        with torch.enable_grad():
            p = [t.detach().clone().requires_grad_() for t in (w0, b0, w1, b1)]
            grads = torch.autograd.grad(((net(p) - y) ** 2).mean(), p)
        fast = [t.detach() - 0.1 * g for t, g in zip(p, grads)]
        return ((net(fast) - y) ** 2).mean()

    return {
        "outer_loss": outer_loss(),
        "w0.grad": kit.finite_difference(outer_loss, w0),
        "w1.grad": kit.finite_difference(outer_loss, w1),
    }
