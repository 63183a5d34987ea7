"""A batch augmentation pipeline: random grayscale (three channels made with expand) followed by an in-place Normalize.

Reproduces: https://github.com/juliendenize/torchaug/issues/10
In our words: a batched grayscale transform returned its single luminance channel expanded to three
channels, and the Normalize that followed worked in place, so it wrote into a tensor whose three
channels share one memory location and torch refused ("more than one element of the written-to
tensor refers to a single memory location"). The proposed fix was a contiguous copy.
"""
import torch
import torch.nn.functional as F
from torch import nn

CASE = {
    "kind": "hazard",
    "group": "views",
    "mechanism": "write-to-expanded-tensor",
    "expect": "raises",
    "error": "more than one element of the written-to tensor refers to a single memory location",
    "report": "https://github.com/juliendenize/torchaug/issues/10",
}

LUMA = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64)
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64)


def batch_grayscale(imgs):
    gray = (imgs * LUMA[None, :, None, None]).sum(1, keepdim=True)
    return gray.expand(-1, 3, -1, -1)


def normalize_(imgs, mean, std):
    return imgs.sub_(mean[None, :, None, None]).div_(std[None, :, None, None])


def run():
    torch.manual_seed(0)
    model = nn.Conv2d(3, 2, 2, dtype=torch.float64)
    imgs = torch.rand(2, 3, 3, 3, dtype=torch.float64)
    target = torch.randn(2, 2, 2, 2, dtype=torch.float64)

    batch = normalize_(batch_grayscale(imgs), MEAN, STD)
    loss = F.mse_loss(model(batch), target)
    loss.backward()
    return {"loss": loss.detach(), "weight.grad": model.weight.grad, "bias.grad": model.bias.grad}
