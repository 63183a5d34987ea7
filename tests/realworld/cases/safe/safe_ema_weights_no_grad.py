"""An exponential moving average of a model's weights, updated in place under no_grad.

Pattern from: https://github.com/huggingface/pytorch-image-models/blob/main/timm/utils/model_ema.py
In our words: a deep copy of the model holds the averaged weights; after each optimizer step every
tensor of the copy's state dict is updated in place inside `torch.no_grad()` (timm uses `copy_`,
`lerp_` or `_foreach_lerp_`; here `mul_(decay).add_(model_v, alpha=1 - decay)`). The copy is never
part of the training graph.
"""
import copy

import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "ema-of-weights-under-no-grad",
    "expect": "runs",
    "report": "https://github.com/huggingface/pytorch-image-models/blob/main/timm/utils/model_ema.py",
}


class WeightEma:
    def __init__(self, model, decay=0.9):
        self.module = copy.deepcopy(model)
        self.module.eval()
        self.decay = decay
        for p in self.module.parameters():
            p.requires_grad_(False)

    def update(self, model):
        with torch.no_grad():
            for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
                ema_v.mul_(self.decay).add_(model_v, alpha=1 - self.decay)


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    ema = WeightEma(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(6, 3, dtype=torch.float64)
    y = torch.randn(6, 2, dtype=torch.float64)
    for _ in range(3):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        ema.update(model)
    return {
        "loss": loss.detach(),
        "ema.0.weight": ema.module[0].weight,
        "ema.2.bias": ema.module[2].bias,
        "model.0.weight": model[0].weight,
    }
