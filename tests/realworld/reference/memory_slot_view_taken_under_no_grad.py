"""Reference for memory_slot_view_taken_under_no_grad: only the slot choice runs under no_grad; the view is taken in grad mode."""
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


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


def oracle():
    """Finite differences of the blend written with torch.where (the slot index is fixed at the start)."""
    torch.manual_seed(0)
    memory = SlotMemory(3, 4)
    query = torch.randn(4, dtype=torch.float64)
    with torch.no_grad():
        slot = int((memory.proj(memory.memory) @ query).argmax())
    chosen = (torch.arange(3) == slot)[:, None]

    def loss():
        state = memory.memory @ memory.proj.weight.T + memory.proj.bias
        state = torch.where(chosen, 0.5 * state + 0.5 * query, state)
        return (state.sum(0) ** 2).sum()

    with torch.no_grad():
        value = loss()
    return {
        "loss": value,
        "memory.grad": kit.finite_difference(loss, memory.memory),
        "proj.weight.grad": kit.finite_difference(loss, memory.proj.weight),
    }
