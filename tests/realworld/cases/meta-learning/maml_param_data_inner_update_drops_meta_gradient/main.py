"""Meta-train a regressor with MAML whose inner step writes the adapted weights through `.data`.

Reproduces: https://github.com/KanishJebaMathewM/Truxify/issues/13118
In our words: the meta-learner copies the model for each task, takes an inner gradient with
`create_graph=True` and then writes `param.data -= inner_lr * grad`. Nothing raises, but the
write through `.data` cuts the adapted weights out of the graph: the query loss never reaches
the meta-parameters, and the meta-optimizer leaves them unchanged.
"""
import torch
from torch import nn

from meta_model import MetaLearner

CASE = {
    "kind": "hazard",
    "group": "meta-learning",
    "mechanism": "data-write-drops-second-order-graph",
    "expect": "silent",
    "report": "https://github.com/KanishJebaMathewM/Truxify/issues/13118",
}


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
