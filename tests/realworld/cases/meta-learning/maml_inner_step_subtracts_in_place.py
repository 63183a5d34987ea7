"""Second-order MAML on sine regression with the inner step written as `p -= inner_lr * g`.

Reproduces: https://discuss.pytorch.org/t/double-backward-with-checkpointed-model-and-learnable-inner-loop-learning-rates/108137
In our words: a MAML implementation over an ordinary nn.Module computed inner-loop gradients with
the graph kept (`create_graph=True`) and then had to update the module's parameters so the query
loss could be differentiated through the step. Written as the familiar in-place SGD update on
the module's own parameters, the inner step fails at once, since they are leaves that require grad.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "meta-learning",
    "mechanism": "maml-inner-update-inplace-on-leaf",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://discuss.pytorch.org/t/double-backward-with-checkpointed-model-and-learnable-inner-loop-learning-rates/108137",
}

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
    loss = F.mse_loss(model(x), y)
    grads = torch.autograd.grad(loss, model.parameters(), create_graph=True)
    for p, g in zip(model.parameters(), grads):
        p -= INNER_LR * g
    return model


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    meta_optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    tasks = sample_tasks(2)

    meta_optimizer.zero_grad()
    meta_loss = 0
    for xs, ys, xq, yq in tasks:
        learner = adapt(model, xs, ys)
        meta_loss = meta_loss + F.mse_loss(learner(xq), yq)
    meta_loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    meta_optimizer.step()
    return {
        "meta_loss": meta_loss.detach(),
        "0.weight.grad": grads["0.weight"],
        "2.weight.grad": grads["2.weight"],
        "0.weight": model[0].weight.detach(),
    }
