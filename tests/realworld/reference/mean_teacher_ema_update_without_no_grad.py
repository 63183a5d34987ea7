"""Reference for mean_teacher_ema_update_without_no_grad: update the teacher under torch.no_grad()."""
import sys
from pathlib import Path

import copy

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402


def update_ema_variables(model, ema_model, alpha):
    with torch.no_grad():
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


def oracle():
    """The teacher kept by torch.optim.swa_utils.AveragedModel with an EMA average."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    torch.manual_seed(0)
    student = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    teacher = AveragedModel(student, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    teacher.update_parameters(student)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.2)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (3, 6))
    noise = 0.1 * torch.randn(3, 6, 3, dtype=torch.float64)
    for step in range(3):
        logits = student(x[step])
        with torch.no_grad():
            teacher_probs = torch.softmax(teacher(x[step] + noise[step]), -1)
        loss = F.cross_entropy(logits, y[step]) + 2.0 * F.mse_loss(torch.softmax(logits, -1), teacher_probs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        teacher.update_parameters(student)
    return {
        "student.0.weight": student[0].weight.detach(),
        "teacher.0.weight": teacher.module[0].weight.detach(),
        "teacher.2.bias": teacher.module[2].bias.detach(),
    }
