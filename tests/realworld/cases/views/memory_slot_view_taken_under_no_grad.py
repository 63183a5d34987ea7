"""A slot memory picks the best-matching slot under no_grad and then blends the query into that slot in grad mode.

Reproduces: https://github.com/pytorch/pytorch/issues/11390
In our words: the thread is about views taken inside a `torch.no_grad()` block, in particular
`with torch.no_grad(): x = z[0]` followed by an in-place write `x[i] = y` outside the block, and
whether gradients should flow through it. Torch now refuses such a write outright.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "no-grad-view-modified-in-grad-mode",
    "expect": "raises",
    "error": "created in no_grad mode and is being modified inplace with grad mode enabled",
    "report": "https://github.com/pytorch/pytorch/issues/11390",
}


class SlotMemory(nn.Module):
    def __init__(self, slots, dim):
        super().__init__()
        self.memory = nn.Parameter(torch.randn(slots, dim, dtype=torch.float64))
        self.proj = nn.Linear(dim, dim, dtype=torch.float64)

    def forward(self, query):
        state = self.proj(self.memory)
        with torch.no_grad():
            slot = int((state @ query).argmax())
            target = state[slot]
        target.mul_(0.5).add_(0.5 * query)
        return state


def run():
    torch.manual_seed(0)
    memory = SlotMemory(3, 4)
    query = torch.randn(4, dtype=torch.float64)

    state = memory(query)
    loss = (state.sum(0) ** 2).sum()
    loss.backward()
    return {"loss": loss.detach(), "memory.grad": memory.memory.grad, "proj.weight.grad": memory.proj.weight.grad}
