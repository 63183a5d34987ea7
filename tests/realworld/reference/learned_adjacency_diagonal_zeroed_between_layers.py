"""Reference for learned_adjacency_diagonal_zeroed_between_layers: the second layer uses a new adjacency without self-loops."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


class LearnedGraphNet(nn.Module):
    def __init__(self, nodes, features):
        super().__init__()
        self.node_emb = nn.Parameter(torch.randn(1, nodes, 2, dtype=torch.float64))
        self.gc1 = nn.Linear(features, features, bias=False, dtype=torch.float64)
        self.gc2 = nn.Linear(features, 1, bias=False, dtype=torch.float64)

    def forward(self, x):
        adj = torch.sigmoid(torch.bmm(self.node_emb, self.node_emb.transpose(1, 2)))
        h = torch.relu(torch.bmm(adj, self.gc1(x)))
        adj = adj - torch.diag_embed(adj.diagonal(dim1=1, dim2=2))
        return torch.bmm(adj, self.gc2(h))


def run():
    torch.manual_seed(0)
    net = LearnedGraphNet(nodes=3, features=2)
    x = torch.randn(1, 3, 2, dtype=torch.float64)

    out = net(x)
    loss = (out**2).sum()
    loss.backward()
    return {"loss": loss.detach(), "node_emb.grad": net.node_emb.grad, "gc1.weight.grad": net.gc1.weight.grad}


def oracle():
    """Finite differences with self-loops removed by an off-diagonal mask."""
    torch.manual_seed(0)
    net = LearnedGraphNet(nodes=3, features=2)
    x = torch.randn(1, 3, 2, dtype=torch.float64)
    off_diagonal = 1 - torch.eye(3, dtype=torch.float64)

    def loss():
        e = net.node_emb[0]
        adj = 1 / (1 + torch.exp(-(e @ e.T)))
        h = torch.clamp(adj @ (x[0] @ net.gc1.weight.T), min=0)
        return (((adj * off_diagonal) @ (h @ net.gc2.weight.T)) ** 2).sum()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "node_emb.grad": kit.finite_difference(loss, net.node_emb),
        "gc1.weight.grad": kit.finite_difference(loss, net.gc1.weight),
    }
