"""Label smoothing: a target distribution built in place with fill_ and scatter_.

Pattern from: https://github.com/harvardnlp/annotated-transformer/blob/master/the_annotated_transformer.py
In our words: the loss allocates a tensor shaped like the predictions, fills it with the smoothing
mass, scatters the confidence into each row's true class and zeroes the padding column, all in
place. The target is a constant built from labels, so autograd never sees those writes.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "one-hot-target-built-in-place",
    "expect": "runs",
    "report": "https://github.com/harvardnlp/annotated-transformer/blob/master/the_annotated_transformer.py",
}


class LabelSmoothing(nn.Module):
    def __init__(self, size, padding_idx, smoothing=0.1):
        super().__init__()
        self.criterion = nn.KLDivLoss(reduction="sum")
        self.size = size
        self.padding_idx = padding_idx
        self.confidence = 1.0 - smoothing
        self.smoothing = smoothing

    def forward(self, log_probs, target):
        true_dist = torch.zeros_like(log_probs)
        true_dist.fill_(self.smoothing / (self.size - 2))
        true_dist.scatter_(1, target.unsqueeze(1), self.confidence)
        true_dist[:, self.padding_idx] = 0
        true_dist[target == self.padding_idx] = 0
        return self.criterion(log_probs, true_dist)


def run():
    torch.manual_seed(0)
    generator = nn.Linear(3, 5).double()
    criterion = LabelSmoothing(size=5, padding_idx=0)
    hidden = torch.randn(4, 3, dtype=torch.float64)
    target = torch.tensor([2, 1, 0, 4])
    log_probs = torch.log_softmax(generator(hidden), dim=-1)
    loss = criterion(log_probs, target)
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": generator.weight.grad, "bias.grad": generator.bias.grad}
