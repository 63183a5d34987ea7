"""Reference for maml_inner_step_subtracts_in_place: fast weights as new tensors, run with functional_call."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

INNER_LR = 0.1


def sample_tasks(n):
    tasks = []
    for _ in range(n):
        amplitude = torch.rand(1, dtype=torch.float64) + 0.5
        phase = torch.rand(1, dtype=torch.float64)
        xs = torch.rand(4, 1, dtype=torch.float64) * 4 - 2
        xq = torch.rand(4, 1, dtype=torch.float64) * 4 - 2
        tasks.append((xs, amplitude * torch.sin(xs + phase), xq, amplitude * torch.sin(xq + phase)))
    return tasks


def adapt(model, x, y):
    params = dict(model.named_parameters())
    loss = F.mse_loss(functional_call(model, params, (x,)), y)
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
    return {name: p - INNER_LR * g for (name, p), g in zip(params.items(), grads)}


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    meta_optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    tasks = sample_tasks(2)

    meta_optimizer.zero_grad()
    meta_loss = 0
    for xs, ys, xq, yq in tasks:
        fast_weights = adapt(model, xs, ys)
        meta_loss = meta_loss + F.mse_loss(functional_call(model, fast_weights, (xq,)), yq)
    meta_loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    meta_optimizer.step()
    return {
        "meta_loss": meta_loss.detach(),
        "0.weight.grad": grads["0.weight"],
        "2.weight.grad": grads["2.weight"],
        "0.weight": model[0].weight.detach(),
    }


def meta_objective(model, tasks):
    """Sum over tasks of the query loss after one inner step; first-order autograd only, on copies."""
    total = 0.0
    for xs, ys, xq, yq in tasks:
        with torch.enable_grad():
            copies = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters()}
            loss = F.mse_loss(functional_call(model, copies, (xs,)), ys)
            grads = torch.autograd.grad(loss, list(copies.values()))
        fast = {n: c.detach() - INNER_LR * g for (n, c), g in zip(copies.items(), grads)}
        total += float(F.mse_loss(functional_call(model, fast, (xq,)), yq))
    return total


def oracle():
    """The meta-gradient by central differences of the meta-objective (whose inner step needs only a first-order gradient)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    tasks = sample_tasks(2)

    def objective():
        return meta_objective(model, tasks)

    loss = torch.tensor(objective(), dtype=torch.float64)
    g0 = kit.finite_difference(objective, model[0].weight)
    g2 = kit.finite_difference(objective, model[2].weight)
    return {"meta_loss": loss, "0.weight.grad": g0, "2.weight.grad": g2, "0.weight": model[0].weight.detach() - 0.05 * g0}
