"""A hand-written normalisation layer whose running statistics and step counter are buffers
updated in place under no_grad.

Pattern from: https://github.com/pytorch/pytorch/blob/main/torch/nn/modules/batchnorm.py
In our words: in training mode the layer normalises with the batch statistics and, inside
`torch.no_grad()`, does `running_mean.mul_(1 - m).add_(m * mean)`, the same for the variance, and
`num_batches_tracked.add_(1)`. The statistics are detached buffers that backward never reads.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "running-stats-buffers-under-no-grad",
    "expect": "runs",
    "report": "https://github.com/pytorch/pytorch/blob/main/torch/nn/modules/batchnorm.py",
}


class RunningNorm(nn.Module):
    def __init__(self, features, momentum=0.1, eps=1e-5):
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        if self.training:
            mean = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
                self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), RunningNorm(4), nn.Tanh(), nn.Linear(4, 1)).double()
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    for _ in range(2):
        loss = model(x).pow(2).mean()
        loss.backward()
    model.eval()
    evaluated = model(x[:2]).detach()
    norm = model[1]
    return {
        "loss": loss.detach(),
        "eval": evaluated,
        "running_mean": norm.running_mean,
        "running_var": norm.running_var,
        "num_batches_tracked": norm.num_batches_tracked.double(),
        "0.weight.grad": model[0].weight.grad,
        "x.grad": x.grad,
    }
