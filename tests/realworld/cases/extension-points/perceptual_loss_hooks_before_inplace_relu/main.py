"""A perceptual loss compares conv activations captured by forward hooks; each conv is followed by ReLU(inplace=True).

Reproduces: https://github.com/pytorch/pytorch/issues/95617
In our words: a forward hook receives the very tensor the layer returned, and an in-place ReLU
that runs next overwrites it, so the hook's copy is the post-ReLU activation. A perceptual loss
meant to compare pre-activation conv features silently compares rectified ones instead.
"""
import torch

from features import ConvActivations, feature_net

CASE = {
    "kind": "hazard",
    "group": "extension-points",
    "mechanism": "hooked-activation-overwritten-by-inplace-relu",
    "expect": "silent",
    "report": "https://github.com/pytorch/pytorch/issues/95617",
}


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
