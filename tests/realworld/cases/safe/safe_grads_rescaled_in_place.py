"""Gradients averaged over accumulation steps by rescaling .grad in place before the step.

Pattern from: https://github.com/facebookresearch/fairseq/blob/main/fairseq/optim/fairseq_optimizer.py
In our words: the trainer accumulates gradients over several batches, then calls
`multiply_grads(c)`, which does `p.grad.data.mul_(c)` for every parameter, and steps. The
gradients are results of backward, not tensors any graph saved, so rescaling them is safe.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "grads-rescaled-in-place-before-step",
    "expect": "runs",
    "report": "https://github.com/facebookresearch/fairseq/blob/main/fairseq/optim/fairseq_optimizer.py",
}


def multiply_grads(params, c):
    for p in params:
        if p.grad is not None:
            p.grad.data.mul_(c)


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    batches = [torch.randn(4, 3, dtype=torch.float64) for _ in range(3)]
    targets = [torch.randn(4, 1, dtype=torch.float64) for _ in range(3)]
    for _ in range(2):
        optimizer.zero_grad()
        for x, y in zip(batches, targets):
            loss = nn.functional.mse_loss(model(x), y, reduction="sum")
            loss.backward()
        multiply_grads(model.parameters(), 1.0 / sum(x.shape[0] for x in batches))
        optimizer.step()
    return {"loss": loss.detach(), "0.weight": model[0].weight, "2.weight.grad": model[2].weight.grad}
