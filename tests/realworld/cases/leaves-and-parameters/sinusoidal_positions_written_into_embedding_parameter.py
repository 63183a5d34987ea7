"""A transformer classifier that fills its position-embedding table with sinusoids by slice assignment at construction.

Reproduces: https://github.com/Atcold/NYU-DLSP20/issues/765
In our words: building the course's transformer classifier failed at the line that writes
`sin` values into the even columns of the position-embedding matrix, `E[:, 0::2] = ...`, with
"a view of a leaf Variable that requires grad is being used in an in-place operation"; the
suggested ways out were a clone or torch.no_grad.
"""
import math

import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "parameter-init-by-index-write",
    "expect": "raises",
    "error": "a view of a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/Atcold/NYU-DLSP20/issues/765",
}


def create_sinusoidal_embeddings(nb_p, dim, E):
    position = torch.arange(nb_p, dtype=torch.float64)[:, None]
    theta = position / torch.pow(10000.0, torch.arange(0, dim, 2, dtype=torch.float64) / dim)
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
