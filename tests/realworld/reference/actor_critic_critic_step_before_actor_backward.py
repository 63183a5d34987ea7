"""Reference for actor_critic_critic_step_before_actor_backward: update the actor before the critic."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

GAMMA = 0.9


def make_batch(generator):
    states = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    actions = torch.rand(6, 1, dtype=torch.float64, generator=generator) * 2 - 1
    rewards = torch.randn(6, 1, dtype=torch.float64, generator=generator)
    next_states = torch.randn(6, 3, dtype=torch.float64, generator=generator)
    return states, actions, rewards, next_states


def build():
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Tanh()).double()
    qf = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    return policy, qf


def names(policy, qf):
    return {
        "policy.0.weight": policy[0].weight.detach(),
        "policy.2.weight": policy[2].weight.detach(),
        "qf.0.weight": qf[0].weight.detach(),
        "qf.2.bias": qf[2].bias.detach(),
    }


def run():
    policy, qf = build()
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

        policy_optimizer.zero_grad()
        policy_loss.backward()
        policy_optimizer.step()

        qf_optimizer.zero_grad()
        qf_loss.backward()
        qf_optimizer.step()

    return names(policy, qf)


def oracle():
    """Both gradients at the weights before the update, by central differences; SGD by hand."""
    policy, qf = build()
    generator = torch.Generator().manual_seed(1)
    for _ in range(2):
        states, actions, rewards, next_states = make_batch(generator)
        with torch.no_grad():
            q_target = rewards + GAMMA * qf(torch.cat([next_states, policy(next_states)], dim=1))

        def policy_loss():
            with torch.no_grad():
                return -qf(torch.cat([states, policy(states)], dim=1)).mean()

        def qf_loss():
            with torch.no_grad():
                return F.mse_loss(qf(torch.cat([states, actions], dim=1)), q_target)

        policy_grads = [kit.finite_difference(policy_loss, p) for p in policy.parameters()]
        qf_grads = [kit.finite_difference(qf_loss, p) for p in qf.parameters()]
        with torch.no_grad():
            for p, g in zip(policy.parameters(), policy_grads):
                p -= 0.05 * g
            for p, g in zip(qf.parameters(), qf_grads):
                p -= 0.05 * g
    return names(policy, qf)
