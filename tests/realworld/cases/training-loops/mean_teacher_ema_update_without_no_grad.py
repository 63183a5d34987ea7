"""Mean-teacher training: the EMA teacher is updated from the student's weights with mul_/add_.

Reproduces: https://github.com/ultralytics/ultralytics/pull/25315
In our words: a change to the EMA update used the live model tensors in in-place EMA arithmetic
without detaching them, and the review pointed out that the update is then recorded by autograd
and can fail. Here a mean-teacher loop keeps a deep copy of the student as teacher (its
parameters still require grad) and updates it in place without `torch.no_grad()`.
"""
import copy

import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "ema-update-outside-no-grad",
    "expect": "raises",
    "error": "a leaf Variable that requires grad is being used in an in-place operation",
    "report": "https://github.com/ultralytics/ultralytics/pull/25315",
}


def update_ema_variables(model, ema_model, alpha):
    for ema_param, param in zip(ema_model.parameters(), model.parameters()):
        ema_param.mul_(alpha).add_(param, alpha=1 - alpha)


def run():
    torch.manual_seed(0)
    student = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    teacher = copy.deepcopy(student)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.2)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (3, 6))
    noise = 0.1 * torch.randn(3, 6, 3, dtype=torch.float64)

    for step in range(3):
        logits = student(x[step])
        consistency = F.mse_loss(torch.softmax(logits, -1), torch.softmax(teacher(x[step] + noise[step]), -1).detach())
        loss = F.cross_entropy(logits, y[step]) + 2.0 * consistency
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        update_ema_variables(student, teacher, alpha=0.9)

    return {
        "student.0.weight": student[0].weight.detach(),
        "teacher.0.weight": teacher[0].weight.detach(),
        "teacher.2.bias": teacher[2].bias.detach(),
    }
