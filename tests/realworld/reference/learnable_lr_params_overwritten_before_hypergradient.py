"""Reference for learnable_lr_params_overwritten_before_hypergradient: backpropagate first, then write the weights."""
import math
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def data():
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    y = torch.randn(3, 6, 1, dtype=torch.float64)
    x_val = torch.randn(6, 2, dtype=torch.float64)
    y_val = torch.randn(6, 1, dtype=torch.float64)
    return x, y, x_val, y_val


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    log_lr = nn.Parameter(torch.tensor(-2.0, dtype=torch.float64))
    lr_optimizer = torch.optim.SGD([log_lr], lr=0.1)
    x, y, x_val, y_val = data()

    names = [name for name, _ in model.named_parameters()]
    for step in range(3):
        params = list(model.parameters())
        loss = F.mse_loss(model(x[step]), y[step])
        grads = torch.autograd.grad(loss, params, create_graph=True)
        updated = {name: p - log_lr.exp() * g for name, p, g in zip(names, params, grads)}

        val_loss = F.mse_loss(functional_call(model, updated, (x_val,)), y_val)
        lr_optimizer.zero_grad()
        val_loss.backward()
        lr_optimizer.step()

        with torch.no_grad():
            for p, name in zip(params, names):
                p.copy_(updated[name])

    return {"log_lr": log_lr.detach(), "0.weight": model[0].weight.detach(), "val_loss": val_loss.detach()}


def oracle():
    """Hypergradient descent by hand: d(validation loss)/d(log_lr) by central differences."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    log_lr = torch.tensor(-2.0, dtype=torch.float64)
    x, y, x_val, y_val = data()
    for step in range(3):
        with torch.enable_grad():
            copies = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters()}
            grads = torch.autograd.grad(F.mse_loss(functional_call(model, copies, (x[step],)), y[step]), list(copies.values()))
        plain = {n: c.detach() for n, c in copies.items()}

        def val_loss():
            lr = math.exp(float(log_lr))
            updated = {n: plain[n] - lr * g for n, g in zip(plain, grads)}
            return F.mse_loss(functional_call(model, updated, (x_val,)), y_val)

        last = val_loss()
        lr_now = math.exp(float(log_lr))
        hypergrad = kit.finite_difference(val_loss, log_lr)
        log_lr = log_lr - 0.1 * hypergrad
        with torch.no_grad():
            for (n, p), g in zip(model.named_parameters(), grads):
                p.copy_(plain[n] - lr_now * g)
    return {"log_lr": log_lr, "0.weight": model[0].weight.detach(), "val_loss": torch.as_tensor(last, dtype=torch.float64)}
