"""Reference for maml_param_data_inner_update_drops_meta_gradient: the inner step returns fast weights that keep the graph."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F
from torch.func import functional_call

from meta_model import MetaLearner

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402


def sample_tasks(n):
    tasks = []
    for _ in range(n):
        slope = torch.randn(1, dtype=torch.float64)
        xs = torch.randn(5, 2, dtype=torch.float64)
        xq = torch.randn(5, 2, dtype=torch.float64)
        tasks.append((xs, slope * xs.sum(1, keepdim=True), xq, slope * xq.sum(1, keepdim=True)))
    return tasks


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    learner = MetaLearner(model)
    losses = [learner.meta_train_step(sample_tasks(2)) for _ in range(2)]
    return {
        "meta_losses": torch.stack(losses),
        "0.weight": model[0].weight.detach(),
        "2.bias": model[2].bias.detach(),
    }


def oracle():
    """Two meta-steps by hand: central differences of the mean query loss after one inner step."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()

    def objective(tasks):
        total = 0.0
        for xs, ys, xq, yq in tasks:
            with torch.enable_grad():
                copies = {n: p.detach().clone().requires_grad_() for n, p in model.named_parameters()}
                grads = torch.autograd.grad(F.mse_loss(functional_call(model, copies, (xs,)), ys), list(copies.values()))
            fast = {n: c.detach() - 0.1 * g for (n, c), g in zip(copies.items(), grads)}
            total += float(F.mse_loss(functional_call(model, fast, (xq,)), yq))
        return total / len(tasks)

    losses = []
    for _ in range(2):
        tasks = sample_tasks(2)
        losses.append(objective(tasks))
        grads = [kit.finite_difference(lambda: objective(tasks), p) for p in model.parameters()]
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= 0.05 * g
    return {
        "meta_losses": torch.tensor(losses, dtype=torch.float64),
        "0.weight": model[0].weight.detach(),
        "2.bias": model[2].bias.detach(),
    }
