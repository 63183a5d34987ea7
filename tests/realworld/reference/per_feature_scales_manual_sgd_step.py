"""Reference for per_feature_scales_manual_sgd_step: the update runs under torch.no_grad()."""
import torch


def learn_scales(features, target, steps=3, lr=0.1):
    s = torch.ones(features.shape[1], dtype=torch.float64, requires_grad=True)
    for _ in range(steps):
        loss = (((features * s).sum(1) - target) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            s -= lr * s.grad
        s.grad.zero_()
    return s, loss


def run():
    torch.manual_seed(0)
    features = torch.randn(6, 3, dtype=torch.float64)
    target = torch.randn(6, dtype=torch.float64)

    s, last_loss = learn_scales(features, target)
    return {"s": s.detach(), "last_loss": last_loss.detach()}


def oracle():
    """The same three steps taken by torch.optim.SGD."""
    torch.manual_seed(0)
    features = torch.randn(6, 3, dtype=torch.float64)
    target = torch.randn(6, dtype=torch.float64)
    s = torch.ones(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([s], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss = (((features * s).sum(1) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    return {"s": s.detach(), "last_loss": loss.detach()}
