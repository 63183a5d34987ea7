"""Reference: the hook keeps a clone of the conv output, which the in-place ReLU cannot reach."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from features import ConvActivations, feature_net

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402


def perceptual_loss(net, taps, prediction, target):
    net(target)
    target_feats = [f.detach() for f in taps.take()]
    net(prediction)
    pred_feats = taps.take()
    return sum(((p - t) ** 2).mean() for p, t in zip(pred_feats, target_feats))


def run():
    torch.manual_seed(0)
    net = feature_net().double()
    for p in net.parameters():
        p.requires_grad_(False)
    taps = ConvActivations(net)
    target = torch.randn(2, 1, 8, dtype=torch.float64)
    prediction = torch.randn(2, 1, 8, dtype=torch.float64, requires_grad=True)
    loss = perceptual_loss(net, taps, prediction, target)
    loss.backward()
    return {"loss": loss.detach(), "prediction.grad": prediction.grad}


def oracle():
    torch.manual_seed(0)
    net = feature_net().double()
    target = torch.randn(2, 1, 8, dtype=torch.float64)
    prediction = torch.randn(2, 1, 8, dtype=torch.float64)
    conv1, conv2 = net[0], net[2]

    def pre_activations(x):
        a = F.conv1d(x, conv1.weight, conv1.bias, padding=1)
        b = F.conv1d(torch.relu(a), conv2.weight, conv2.bias, padding=1)
        return [a, b]

    def loss():
        return sum(((p - t) ** 2).mean() for p, t in zip(pre_activations(prediction), pre_activations(target)))

    with torch.no_grad():
        return {"loss": loss(), "prediction.grad": kit.finite_difference(loss, prediction)}
