"""A confusion matrix accumulated in place with += during evaluation under inference mode.

Pattern from: https://github.com/pytorch/vision/blob/main/references/segmentation/utils.py
In our words: the evaluation loop runs the model under `torch.inference_mode()` and the metric's
`update()` adds `torch.bincount(...)` of the predictions into its matrix with `self.mat += ...`.
Nothing in the loop is recorded for backward, so accumulating in place is the natural way.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "metric-accumulated-under-inference-mode",
    "expect": "runs",
    "report": "https://github.com/pytorch/vision/blob/main/references/segmentation/utils.py",
}


class ConfusionMatrix:
    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.mat = None

    def update(self, target, pred):
        n = self.num_classes
        if self.mat is None:
            self.mat = torch.zeros((n, n), dtype=torch.int64)
        with torch.inference_mode():
            k = (target >= 0) & (target < n)
            inds = n * target[k] + pred[k]
            self.mat += torch.bincount(inds, minlength=n ** 2).reshape(n, n)

    def accuracy(self):
        h = self.mat.double()
        return torch.diag(h).sum() / h.sum()


def evaluate(model, batches, num_classes):
    model.eval()
    confmat = ConfusionMatrix(num_classes)
    with torch.inference_mode():
        for x, target in batches:
            output = model(x)
            confmat.update(target.flatten(), output.argmax(1).flatten())
    return confmat


def run():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 3)).double()
    batches = [(torch.randn(5, 4, dtype=torch.float64), torch.randint(0, 3, (5,))) for _ in range(3)]
    confmat = evaluate(model, batches, 3)
    return {"confusion": confmat.mat.double(), "accuracy": confmat.accuracy()}
