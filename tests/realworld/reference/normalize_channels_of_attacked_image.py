"""Reference for normalize_channels_of_attacked_image: normalize the whole image out of place."""
import sys
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import kit  # noqa: E402

MEAN = [0.5, 0.4, 0.3]
STD = [0.2, 0.25, 0.3]


def normalize(image, mean, std):
    mean = torch.tensor(mean, dtype=image.dtype)[:, None, None]
    std = torch.tensor(std, dtype=image.dtype)[:, None, None]
    return (image - mean) / std


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, kernel_size=3, padding=1)
        self.head = nn.Linear(2, 2)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.head(h.mean(dim=(2, 3)))


def predict(model, image):
    resized = F.interpolate(image.unsqueeze(0), size=(4, 4), mode="bilinear", align_corners=False)[0]
    return model(normalize(resized, MEAN, STD).unsqueeze(0))


def run():
    torch.manual_seed(0)
    model = Detector().double()
    image = torch.rand(3, 5, 5, dtype=torch.float64, requires_grad=True)
    logits = predict(model, image)
    loss = F.cross_entropy(logits, torch.tensor([1]))
    loss.backward()
    adversarial = (image + 0.01 * image.grad.sign()).clamp(0, 1)
    return {"logits": logits.detach(), "image.grad": image.grad, "adversarial": adversarial.detach()}


def oracle():
    """The input gradient by central differences, normalizing each channel by hand."""
    torch.manual_seed(0)
    model = Detector().double()
    image = torch.rand(3, 5, 5, dtype=torch.float64)

    def loss():
        with torch.no_grad():
            resized = F.interpolate(image.unsqueeze(0), size=(4, 4), mode="bilinear", align_corners=False)[0]
            channels = [(resized[c] - MEAN[c]) / STD[c] for c in range(3)]
            return F.cross_entropy(model(torch.stack(channels).unsqueeze(0)), torch.tensor([1]))

    return {"image.grad": kit.finite_difference(loss, image)}
