"""Hypergradient descent on a learnable inner learning rate; the parameters are overwritten before backward.

Reproduces: https://github.com/learnables/learn2learn/issues/300
In our words: a learnable optimizer that learns its step sizes wrote the updated model parameters
back in place, and on the second batch the backward pass for the step sizes raised. Here each
step builds the updated weights `p - lr * g` with the graph kept, copies them into the model
under `no_grad`, and only then backpropagates the validation loss of the updated weights into
the learning rate.
"""
import torch
from torch import nn
import torch.nn.functional as F
from torch.func import functional_call

CASE = {
    "kind": "hazard",
    "group": "meta-learning",
    "mechanism": "leaf-overwritten-while-graph-needs-it",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/learnables/learn2learn/issues/300",
}


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    log_lr = nn.Parameter(torch.tensor(-2.0, dtype=torch.float64))
    lr_optimizer = torch.optim.SGD([log_lr], lr=0.1)
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    y = torch.randn(3, 6, 1, dtype=torch.float64)
    x_val = torch.randn(6, 2, dtype=torch.float64)
    y_val = torch.randn(6, 1, dtype=torch.float64)

    names = [name for name, _ in model.named_parameters()]
    for step in range(3):
        params = list(model.parameters())
        loss = F.mse_loss(model(x[step]), y[step])
        grads = torch.autograd.grad(loss, params, create_graph=True)
        updated = {name: p - log_lr.exp() * g for name, p, g in zip(names, params, grads)}

        with torch.no_grad():
            for p, name in zip(params, names):
                p.copy_(updated[name])

        val_loss = F.mse_loss(functional_call(model, updated, (x_val,)), y_val)
        lr_optimizer.zero_grad()
        val_loss.backward()
        lr_optimizer.step()

    return {"log_lr": log_lr.detach(), "0.weight": model[0].weight.detach(), "val_loss": val_loss.detach()}
