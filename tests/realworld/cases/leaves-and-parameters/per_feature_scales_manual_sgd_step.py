"""Learning per-feature scaling factors with a hand-written gradient step on a leaf tensor.

Reproduces: https://github.com/BaiTheBest/SparseLLM/issues/13
In our words: an alternating optimisation updated an auxiliary tensor with
`s -= lr * s.grad` right after `loss.backward()`, outside any no_grad block, and torch refused
because `s` is a leaf that requires grad.
"""
import torch

CASE = {
    "kind": "hazard",
    "group": "leaves-and-parameters",
    "mechanism": "manual-sgd-step-outside-no-grad",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/BaiTheBest/SparseLLM/issues/13",
}


def learn_scales(features, target, steps=3, lr=0.1):
    s = torch.ones(features.shape[1], dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        loss = (((features * s).sum(1) - target) ** 2).mean()
        loss.backward()
        s -= lr * s.grad
        s.grad.zero_()
    return s, loss


def run():
    torch.manual_seed(0)
    features = torch.randn(6, 3, dtype=torch.float64)
    target = torch.randn(6, dtype=torch.float64)

    s, last_loss = learn_scales(features, target)
    return {"s": s.detach(), "last_loss": last_loss.detach()}
