"""A tiny two-block feed-forward encoder with a classification head."""
import torch
from torch import nn


class Output(nn.Module):
    def __init__(self, inner, hidden):
        super().__init__()
        self.dense = nn.Linear(inner, hidden)


class Block(nn.Module):
    def __init__(self, hidden, inner):
        super().__init__()
        self.intermediate = nn.Linear(hidden, inner)
        self.output = Output(inner, hidden)

    def forward(self, h):
        return h + self.output.dense(torch.relu(self.intermediate(h)))


class TinyEncoder(nn.Module):
    def __init__(self, hidden=3, inner=4, classes=3, blocks=2):
        super().__init__()
        self.layer = nn.ModuleList(Block(hidden, inner) for _ in range(blocks))
        self.head = nn.Linear(hidden, classes)

    def forward(self, h):
        for block in self.layer:
            h = block(h)
        return self.head(h)
