"""An embedding network for triplet training that L2-normalises its output in place.

Reproduces: https://github.com/adambielski/siamese-triplet/issues/51
In our words: switching to the L2-normalised variant of the embedding net made backward fail with
the in-place error on the output of the last linear layer. The output was divided by its own norm
in place, and the norm had kept that output to compute its gradient.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "module-forward",
    "mechanism": "divide-by-own-norm-inplace",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/adambielski/siamese-triplet/issues/51",
}


class EmbeddingNetL2(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(4, 6, dtype=torch.float64), nn.Tanh(), nn.Linear(6, 3, dtype=torch.float64)
        )

    def forward(self, x):
        output = self.net(x)
        output /= output.norm(dim=1, keepdim=True)
        return output


def run():
    torch.manual_seed(0)
    model = EmbeddingNetL2()
    anchor, positive, negative = torch.randn(3, 5, 4, dtype=torch.float64)

    loss = F.triplet_margin_loss(model(anchor), model(positive), model(negative), margin=2.0)
    loss.backward()
    return {"loss": loss.detach(), "net.0.weight.grad": model.net[0].weight.grad, "net.2.weight.grad": model.net[2].weight.grad}
