"""A two-layer graph network with a learned adjacency that removes self-loops in place before the second layer.

Reproduces: https://github.com/WOW5678/CompNet/issues/2
In our words: training a graph model failed in the backward of a batched matrix product with the
in-place error on a tensor produced by a strided view. The adjacency matrix, already used (and
saved) by the first graph layer, had its diagonal overwritten through a view before the second.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "diagonal-view-write-after-save",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/WOW5678/CompNet/issues/2",
}


class LearnedGraphNet(nn.Module):
    def __init__(self, nodes, features):
        super().__init__()
        self.node_emb = nn.Parameter(torch.randn(1, nodes, 2, dtype=torch.float64))
        self.gc1 = nn.Linear(features, features, bias=False, dtype=torch.float64)
        self.gc2 = nn.Linear(features, 1, bias=False, dtype=torch.float64)

    def forward(self, x):
        adj = torch.sigmoid(torch.bmm(self.node_emb, self.node_emb.transpose(1, 2)))
        h = torch.relu(torch.bmm(adj, self.gc1(x)))
        adj.diagonal(dim1=1, dim2=2).fill_(0.0)
        return torch.bmm(adj, self.gc2(h))


def run():
    torch.manual_seed(0)
    net = LearnedGraphNet(nodes=3, features=2)
    x = torch.randn(1, 3, 2, dtype=torch.float64)

    out = net(x)
    loss = (out**2).sum()
    loss.backward()
    return {"loss": loss.detach(), "node_emb.grad": net.node_emb.grad, "gc1.weight.grad": net.gc1.weight.grad}
