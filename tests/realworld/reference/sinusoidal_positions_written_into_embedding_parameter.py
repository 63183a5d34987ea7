"""Reference for sinusoidal_positions_written_into_embedding_parameter: the table is filled under torch.no_grad()."""
import math
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def create_sinusoidal_embeddings(nb_p, dim, E):
    position = torch.arange(nb_p, dtype=torch.float64)[:, None]
    theta = position / torch.pow(10000.0, torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    with torch.no_grad():
        E[:, 0::2] = torch.sin(theta)
        E[:, 1::2] = torch.cos(theta)


class Embeddings(nn.Module):
    def __init__(self, vocab_size, d_model, max_positions):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, d_model, dtype=torch.float64)
        self.position_embeddings = nn.Embedding(max_positions, d_model, dtype=torch.float64)
        create_sinusoidal_embeddings(max_positions, d_model, self.position_embeddings.weight)

    def forward(self, input_ids):
        positions = torch.arange(input_ids.shape[1])
        return self.word_embeddings(input_ids) * math.sqrt(2) + self.position_embeddings(positions)


def run():
    torch.manual_seed(0)
    embeddings = Embeddings(vocab_size=5, d_model=4, max_positions=3)
    head = nn.Linear(4, 2, dtype=torch.float64)
    input_ids = torch.tensor([[1, 2, 3], [4, 0, 2]])
    labels = torch.tensor([0, 1])

    loss = nn.functional.cross_entropy(head(embeddings(input_ids).mean(1)), labels)
    loss.backward()
    return {
        "loss": loss.detach(),
        "position_embeddings.weight": embeddings.position_embeddings.weight.detach(),
        "word_embeddings.weight.grad": embeddings.word_embeddings.weight.grad,
    }


def oracle():
    """The sinusoid table element by element, and finite differences of the loss in the word table."""
    torch.manual_seed(0)
    embeddings = Embeddings(vocab_size=5, d_model=4, max_positions=3)
    head = nn.Linear(4, 2, dtype=torch.float64)
    input_ids = torch.tensor([[1, 2, 3], [4, 0, 2]])
    labels = [0, 1]
    table = torch.tensor(
        [[(math.sin if j % 2 == 0 else math.cos)(pos / 10000 ** ((j - j % 2) / 4)) for j in range(4)] for pos in range(3)],
        dtype=torch.float64,
    )
    words = embeddings.word_embeddings.weight

    def loss():
        pooled = torch.stack([(words[row] * math.sqrt(2) + table).mean(0) for row in input_ids])
        logits = pooled @ head.weight.T + head.bias
        return sum(torch.logsumexp(logits[i], 0) - logits[i, y] for i, y in enumerate(labels)) / 2

    with torch.no_grad():
        value = loss()
    return {"loss": value, "position_embeddings.weight": table, "word_embeddings.weight.grad": kit.finite_difference(loss, words)}
