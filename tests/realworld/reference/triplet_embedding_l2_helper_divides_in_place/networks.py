"""Embedding networks for metric learning."""
import torch
from torch import nn

from utils import normalize_embeddings


class EmbeddingNet(nn.Module):
    def __init__(self, in_features=4, hidden=5, dim=3):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(in_features, hidden), nn.PReLU(), nn.Linear(hidden, dim))

    def forward(self, x):
        return self.fc(x)


class EmbeddingNetL2(EmbeddingNet):
    def forward(self, x):
        output = super().forward(x)
        return normalize_embeddings(output)


class TripletNet(nn.Module):
    def __init__(self, embedding_net):
        super().__init__()
        self.embedding_net = embedding_net

    def forward(self, anchor, positive, negative):
        return self.embedding_net(anchor), self.embedding_net(positive), self.embedding_net(negative)


def triplet_loss(anchor, positive, negative, margin):
    distance_positive = (anchor - positive).pow(2).sum(1)
    distance_negative = (anchor - negative).pow(2).sum(1)
    return torch.relu(distance_positive - distance_negative + margin).mean()
