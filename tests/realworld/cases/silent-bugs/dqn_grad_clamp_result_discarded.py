"""A DQN-style update clips each gradient with param.grad.data.clamp(-1, 1) before optimizer.step().

Reproduces: https://github.com/pytorch/tutorials/pull/30
In our words: the reinforcement-learning tutorial clipped gradients with the out-of-place
`clamp`, whose result was thrown away, so no clipping happened and the step used raw gradients.
"""
import torch
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "silent-bugs",
    "mechanism": "out-of-place-result-discarded",
    "expect": "silent",
    "report": "https://github.com/pytorch/tutorials/pull/30",
}


def optimize_model(policy, optimizer, states, actions, targets):
    q_values = policy(states).gather(1, actions[:, None]).squeeze(1)
    loss = nn.functional.smooth_l1_loss(q_values, targets, reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    for param in policy.parameters():
        param.grad.data.clamp(-1, 1)
    optimizer.step()
    return loss


def run():
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.1)
    states = 3 * torch.randn(6, 3, dtype=torch.float64)
    actions = torch.tensor([0, 1, 1, 0, 1, 0])
    targets = 10 * torch.randn(6, dtype=torch.float64)
    for _ in range(2):
        loss = optimize_model(policy, optimizer, states, actions, targets)
    return {"loss": loss.detach(), "w0": policy[0].weight.detach(), "w2": policy[2].weight.detach()}
