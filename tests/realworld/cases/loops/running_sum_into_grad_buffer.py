"""A running (prefix) sum of weighted scores is accumulated element by element into a result tensor.

Reproduces: https://github.com/pytorch/pytorch/issues/53348
In our words: the user implemented a product with explicit loops that accumulate into a result
tensor created with `requires_grad=True`, and the first accumulation raised. Here a cumulative
sum of weighted scores is written into such a buffer position by position.
"""
import torch

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "cumulative-sum-into-leaf-buffer",
    "expect": "raises",
    "error": "a view of a leaf Variable that requires grad",
    "report": "https://github.com/pytorch/pytorch/issues/53348",
}


def running_sum(scores, weights):
    n = scores.shape[0]
    result = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    for i in range(n):
        previous = result[i - 1] if i > 0 else 0.0
        result[i] = previous + scores[i] * weights[i]
    return result


def run():
    torch.manual_seed(0)
    scores = torch.randn(5, dtype=torch.float64, requires_grad=True)
    weights = torch.rand(5, dtype=torch.float64, requires_grad=True)
    prefix = running_sum(scores, weights)
    loss = (prefix ** 2).sum()
    loss.backward()
    return {"prefix": prefix.detach(), "scores.grad": scores.grad, "weights.grad": weights.grad}
