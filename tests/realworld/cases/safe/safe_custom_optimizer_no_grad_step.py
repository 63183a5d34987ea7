"""A hand-written optimizer whose step is decorated with @torch.no_grad() and updates in place.

Pattern from: https://github.com/huggingface/pytorch-image-models/blob/main/timm/optim/lion.py
In our words: a `torch.optim.Optimizer` subclass with momentum state; `step()` runs under
`@torch.no_grad()` and uses `p.mul_`, `p.add_`, `exp_avg.lerp_` on the parameters and its own state
buffers. Nothing there is recorded by autograd, so the in-place updates are the intended ones.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "optimizer-step-under-no-grad-decorator",
    "expect": "runs",
    "report": "https://github.com/huggingface/pytorch-image-models/blob/main/timm/optim/lion.py",
}


class SignMomentum(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-2, beta=0.9, weight_decay=0.1):
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avg = state["exp_avg"]
                p.mul_(1 - group["lr"] * group["weight_decay"])
                update = exp_avg.mul(group["beta"]).add(p.grad, alpha=1 - group["beta"])
                p.add_(torch.sign(update), alpha=-group["lr"])
                exp_avg.lerp_(p.grad, 1 - group["beta"])


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    optimizer = SignMomentum(model.parameters())
    inputs = torch.randn(8, 4, dtype=torch.float64)
    targets = torch.randn(8, 1, dtype=torch.float64)
    for _ in range(3):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return {
        "loss": loss.detach(),
        "0.weight": model[0].weight,
        "2.bias": model[2].bias,
        "2.weight.grad": model[2].weight.grad,
    }
