"""A CosFace-style margin loss that normalises its class weights by assigning W.data in every forward.

Reproduces: https://github.com/cvqluu/Angular-Penalty-Softmax-Losses-Pytorch/issues/3
In our words: the loss meant to L2-normalise the class weights, but its loop rebound a local
name and normalised nothing; the fix proposed in the thread assigns the normalised weights to
`W.data` inside forward. The forward is right, but autograd never sees the normalisation, so the
weight gradient is the gradient with respect to the normalised values, not the parameters.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "data-detach",
    "mechanism": "data-update-of-parameter-in-forward",
    "expect": "silent",
    "report": "https://github.com/cvqluu/Angular-Penalty-Softmax-Losses-Pytorch/issues/3",
}


class CosFaceLoss(nn.Module):
    def __init__(self, in_features, out_features, s=4.0, m=0.3):
        super().__init__()
        self.s, self.m = s, m
        self.fc = nn.Linear(in_features, out_features, bias=False, dtype=torch.float64)
        nn.init.normal_(self.fc.weight)

    def forward(self, x, labels):
        for W in self.fc.parameters():
            W.data = F.normalize(W, p=2, dim=1)
        x = F.normalize(x, p=2, dim=1)
        wf = self.fc(x)
        target = wf.gather(1, labels[:, None]).squeeze(1)
        numerator = self.s * (target - self.m)
        others = wf.masked_fill(F.one_hot(labels, wf.shape[1]).bool(), float("-inf"))
        denominator = torch.exp(numerator) + torch.exp(self.s * others).sum(1)
        return -(numerator - torch.log(denominator)).mean()


def run():
    torch.manual_seed(0)
    embed = nn.Linear(4, 3, dtype=torch.float64)
    criterion = CosFaceLoss(3, 5)
    x = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 3, 4, 1])

    loss = criterion(embed(x), labels)
    loss.backward()
    return {"loss": loss.detach(), "fc.weight.grad": criterion.fc.weight.grad, "embed.weight.grad": embed.weight.grad}
