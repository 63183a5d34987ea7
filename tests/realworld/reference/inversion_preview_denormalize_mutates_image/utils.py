"""Image helpers for the inversion script."""

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def denormalize(tensor, mean=MEAN, std=STD):
    tensor = tensor.clone()
    for channel, m, s in zip(tensor, mean, std):
        channel.mul_(s).add_(m)
    return tensor


def total_variation(x):
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()
