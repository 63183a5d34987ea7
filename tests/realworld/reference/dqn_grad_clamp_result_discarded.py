"""Reference: the gradients are clamped in place (clamp_)."""
import torch
from torch import nn


def optimize_model(policy, optimizer, states, actions, targets):
    q_values = policy(states).gather(1, actions[:, None]).squeeze(1)
    loss = nn.functional.smooth_l1_loss(q_values, targets, reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    for param in policy.parameters():
        param.grad.data.clamp_(-1, 1)
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


def oracle():
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    states = 3 * torch.randn(6, 3, dtype=torch.float64)
    actions = torch.tensor([0, 1, 1, 0, 1, 0])
    targets = 10 * torch.randn(6, dtype=torch.float64)
    params = [p.detach().clone().requires_grad_() for p in policy.parameters()]
    for _ in range(2):
        w0, b0, w2, b2 = params
        q = (torch.tanh(states @ w0.t() + b0) @ w2.t() + b2)[torch.arange(6), actions]
        diff = (q - targets).abs()
        loss = torch.where(diff < 1, 0.5 * diff**2, diff - 0.5).sum()
        grads = torch.autograd.grad(loss, params)
        params = [(p - 0.1 * torch.clamp(g, -1, 1)).detach().requires_grad_() for p, g in zip(params, grads)]
    return {"loss": loss.detach(), "w0": params[0].detach(), "w2": params[2].detach()}
