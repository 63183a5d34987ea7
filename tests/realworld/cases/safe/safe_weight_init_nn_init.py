"""Weight initialisation with nn.init and a no_grad scaling of the residual projections.

Pattern from: https://github.com/karpathy/nanoGPT/blob/master/model.py
In our words: the model's constructor applies an `_init_weights` hook that calls
`torch.nn.init.normal_` and `zeros_` on every Linear layer, and gives the residual projection a
smaller scale (nanoGPT re-draws it with a smaller std; here it is scaled in place under
`torch.no_grad()`). The `nn.init` functions run without grad themselves, and all of it happens before
any forward pass, so no graph can be affected.
"""
import math

import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "weight-init-with-nn-init",
    "expect": "runs",
    "report": "https://github.com/karpathy/nanoGPT/blob/master/model.py",
}


class MLP(nn.Module):
    def __init__(self, width=4, layers=2):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(layers))
        self.proj = nn.Linear(width, width)
        self.head = nn.Linear(width, 1)
        self.apply(self._init_weights)
        with torch.no_grad():
            self.proj.weight.mul_(1 / math.sqrt(2 * layers))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.2)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)

    def forward(self, x):
        for block in self.blocks:
            x = x + torch.tanh(block(x))
        return self.head(self.proj(x))


def run():
    torch.manual_seed(0)
    model = MLP().double()
    x = torch.randn(5, 4, dtype=torch.float64)
    loss = model(x).pow(2).mean()
    loss.backward()
    return {
        "loss": loss.detach(),
        "proj.weight": model.proj.weight,
        "blocks.0.weight.grad": model.blocks[0].weight.grad,
        "head.bias.grad": model.head.bias.grad,
    }
