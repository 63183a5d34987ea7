"""In-place normalisation of input images in a dataset transform, before any model sees them.

Pattern from: https://github.com/pytorch/vision/blob/main/torchvision/transforms/_functional_tensor.py
In our words: the `normalize` transform clones the image unless asked not to and then runs
`tensor.sub_(mean).div_(std)`. The data pipeline works on plain tensors that do not require grad,
so the in-place arithmetic is only an allocation saving.
"""
import torch
from torch import nn

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "inplace-input-normalisation",
    "expect": "runs",
    "report": "https://github.com/pytorch/vision/blob/main/torchvision/transforms/_functional_tensor.py",
}


def normalize(tensor, mean, std, inplace=False):
    if not inplace:
        tensor = tensor.clone()
    mean = torch.as_tensor(mean, dtype=tensor.dtype).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=tensor.dtype).view(-1, 1, 1)
    tensor.sub_(mean).div_(std)
    return tensor


class ImageDataset(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = self.images[index].clone()
        image.mul_(1 / 255)
        return normalize(image, [0.5, 0.25], [0.2, 0.1], inplace=True)


def run():
    torch.manual_seed(0)
    raw = torch.randint(0, 256, (4, 2, 3, 3)).double()
    loader = torch.utils.data.DataLoader(ImageDataset(raw), batch_size=2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(18, 1)).double()
    total = torch.zeros((), dtype=torch.float64)
    for batch in loader:
        total = total + model(batch).pow(2).mean()
    total.backward()
    return {
        "total": total.detach(),
        "first": ImageDataset(raw)[0],
        "1.weight.grad": model[1].weight.grad,
    }
