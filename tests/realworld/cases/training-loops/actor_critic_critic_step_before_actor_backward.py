"""A DDPG-style update steps the critic's optimizer and then backpropagates the actor's loss.

Reproduces: https://github.com/rail-berkeley/rlkit/pull/109
In our words: the training step computed the policy loss through the Q-function, updated the
Q-function first, and then called backward on the policy loss; from torch 1.5 on that raises,
because the policy gradient flows through Q-function weights that the critic step overwrote.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "optimizer-step-before-backward",
    "expect": "raises",
    "error": "modified by an inplace operation",
    "report": "https://github.com/rail-berkeley/rlkit/pull/109",
}

GAMMA = 0.9


def make_batch(generator):
    states = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    actions = torch.rand(6, 1, dtype=torch.float64, generator=generator) * 2 - 1
    rewards = torch.randn(6, 1, dtype=torch.float64, generator=generator)
    next_states = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    return states, actions, rewards, next_states


def run():
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Tanh()).double()
    qf = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    policy_optimizer = torch.optim.SGD(policy.parameters(), lr=0.05)
    qf_optimizer = torch.optim.SGD(qf.parameters(), lr=0.05)
    generator = torch.Generator().manual_seed(1)

    for _ in range(2):
        states, actions, rewards, next_states = make_batch(generator)
        new_actions = policy(states)
        q_new_actions = qf(torch.cat([states, new_actions], dim=1))
        policy_loss = -q_new_actions.mean()

        q_pred = qf(torch.cat([states, actions], dim=1))
        next_q = qf(torch.cat([next_states, policy(next_states)], dim=1))
        q_target = rewards + GAMMA * next_q.detach()
        qf_loss = F.mse_loss(q_pred, q_target)

        qf_optimizer.zero_grad()
        qf_loss.backward()
        qf_optimizer.step()

        policy_optimizer.zero_grad()
        policy_loss.backward()
        policy_optimizer.step()

    return {
        "policy.0.weight": policy[0].weight.detach(),
        "policy.2.weight": policy[2].weight.detach(),
        "qf.0.weight": qf[0].weight.detach(),
        "qf.2.bias": qf[2].bias.detach(),
    }
