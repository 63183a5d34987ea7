"""An adversarial attack normalizes the perturbed image channel by channel before the classifier.

Reproduces: https://github.com/paarthneekhara/AdversarialDeepFakes/issues/23
In our words: an FGSM-style attack needs the gradient of the loss with respect to the input image,
so the image requires grad. The preprocessing normalizes it with a per-channel loop that subtracts
the mean and divides by the standard deviation of each channel in place, and the attack dies there.
"""
import torch
from torch import nn
import torch.nn.functional as F

CASE = {
    "kind": "hazard",
    "group": "loops",
    "mechanism": "iterate-tensor-inplace-on-rows",
    "expect": "raises",
    "error": "is a view and is being modified inplace",
    "report": "https://github.com/paarthneekhara/AdversarialDeepFakes/issues/23",
}

MEAN = [0.5, 0.4, 0.3]
STD = [0.2, 0.25, 0.3]


def normalize(image, mean, std):
    for channel, m, s in zip(image, mean, std):
        channel.sub_(m).div_(s)
    return image


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
