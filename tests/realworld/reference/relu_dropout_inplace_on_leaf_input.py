"""Reference for relu_dropout_inplace_on_leaf_input: relu and dropout work out of place."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def preprocess(x, p=0.25, training=True):
    x = F.relu(x)
    x = F.dropout(x, p=p, training=training)
    return x


def run():
    torch.manual_seed(0)
    classifier = nn.Linear(4, 2, dtype=torch.float64)
    features = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 1])

    loss = F.cross_entropy(classifier(preprocess(features)), labels)
    loss.backward()
    return {"loss": loss.detach(), "features.grad": features.grad, "weight.grad": classifier.weight.grad}


def oracle():
    """Finite differences with the dropout mask replayed from the same generator state."""
    torch.manual_seed(0)
    classifier = nn.Linear(4, 2, dtype=torch.float64)
    features = torch.randn(3, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1])
    state = torch.get_rng_state()

    def loss():
        torch.set_rng_state(state)
        keep = torch.bernoulli(torch.full((3, 4), 0.75, dtype=torch.float64))
        logits = (torch.clamp(features, min=0) * keep / 0.75) @ classifier.weight.T + classifier.bias
        return (torch.logsumexp(logits, 1) - logits[torch.arange(3), labels]).mean()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "features.grad": kit.finite_difference(loss, features),
        "weight.grad": kit.finite_difference(loss, classifier.weight),
    }
