"""Train a triplet network whose embeddings are L2-normalized by a shared helper.

Reproduces: https://github.com/adambielski/siamese-triplet/issues/51
In our words: switching the triplet network from the plain embedding net to the L2-normalized
one made training fail in backward: the normalization divided the network's output by its norm
in place (`output /= ...`), overwriting the output that the norm computation had saved. Here the
division lives in a helper module that the network module imports.
"""
import torch

from networks import EmbeddingNetL2, TripletNet, triplet_loss

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "helper-mutates-saved-argument",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/adambielski/siamese-triplet/issues/51",
}

MARGIN = 1.0


def run():
    torch.manual_seed(0)
    model = TripletNet(EmbeddingNetL2()).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    anchors = torch.randn(2, 6, 4, dtype=torch.float64)
    positives = anchors + 0.3 * torch.randn(2, 6, 4, dtype=torch.float64)
    negatives = torch.randn(2, 6, 4, dtype=torch.float64)

    losses = []
    for step in range(2):
        optimizer.zero_grad()
        outputs = model(anchors[step], positives[step], negatives[step])
        loss = triplet_loss(*outputs, MARGIN)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())

    fc = model.embedding_net.fc
    return {"losses": torch.stack(losses), "fc.0.weight": fc[0].weight.detach(), "fc.2.weight": fc[2].weight.detach()}
