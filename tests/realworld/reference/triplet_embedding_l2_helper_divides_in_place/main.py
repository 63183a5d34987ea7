"""Reference for triplet_embedding_l2_helper_divides_in_place: the helper returns a new normalized tensor."""
import sys
from pathlib import Path

import torch

from networks import EmbeddingNetL2, TripletNet, triplet_loss

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402

MARGIN = 1.0


def data():
    anchors = torch.randn(2, 6, 4, dtype=torch.float64)
    positives = anchors + 0.3 * torch.randn(2, 6, 4, dtype=torch.float64)
    negatives = torch.randn(2, 6, 4, dtype=torch.float64)
    return anchors, positives, negatives


def run():
    torch.manual_seed(0)
    model = TripletNet(EmbeddingNetL2()).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    anchors, positives, negatives = data()

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


def oracle():
    """SGD by hand on the triplet loss of F.normalize'd embeddings, gradients by central differences."""
    torch.manual_seed(0)
    model = TripletNet(EmbeddingNetL2()).double()
    anchors, positives, negatives = data()
    fc = model.embedding_net.fc

    def embed(x):
        return torch.nn.functional.normalize(fc(x), dim=1, eps=0.0)

    losses = []
    for step in range(2):
        def loss():
            with torch.no_grad():
                a, p, n = embed(anchors[step]), embed(positives[step]), embed(negatives[step])
                return torch.relu((a - p).pow(2).sum(1) - (a - n).pow(2).sum(1) + MARGIN).mean()

        losses.append(loss())
        grads = [kit.finite_difference(loss, p) for p in model.parameters()]
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= 0.1 * g
    return {"losses": torch.stack(losses), "fc.0.weight": fc[0].weight.detach(), "fc.2.weight": fc[2].weight.detach()}
