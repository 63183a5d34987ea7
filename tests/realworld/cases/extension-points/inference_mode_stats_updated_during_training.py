"""Input-normalisation statistics computed under torch.inference_mode() are updated in place while training.

Reproduces: https://github.com/pytorch/pytorch/issues/57369
In our words: tensors created in inference mode cannot be updated in place outside it, and the
error fires far from where the tensor was made (the issue discusses exactly that). Here a
normaliser's mean is estimated from a calibration set under inference_mode, then nudged towards
each training batch with an in-place exponential moving average.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "inference-tensor-inplace-outside-inference-mode",
    "expect": "raises",
    "error": "Inplace update to inference tensor outside InferenceMode",
    "report": "https://github.com/pytorch/pytorch/issues/57369",
}


class Normalizer:
    def __init__(self, calibration):
        with torch.inference_mode():
            self.mean = calibration.mean(0)

    def update(self, batch, momentum=0.1):
        self.mean.mul_(1 - momentum).add_(momentum * batch.mean(0))

    def __call__(self, batch):
        return batch - self.mean


def run():
    torch.manual_seed(0)
    norm = Normalizer(torch.randn(8, 3, dtype=torch.float64))
    model = nn.Linear(3, 1).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        batch = torch.randn(4, 3, dtype=torch.float64) + 1.0
        target = torch.randn(4, 1, dtype=torch.float64)
        norm.update(batch)
        loss = ((model(norm(batch)) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"mean": norm.mean.clone(), "weight": model.weight.detach().clone(), "bias": model.bias.detach().clone()}
