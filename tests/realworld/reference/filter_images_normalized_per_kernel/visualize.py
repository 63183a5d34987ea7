"""Helpers that turn convolution filters into images in a fixed value range (out of place)."""
import torch


def norm_range(t, low, high):
    t = t.clamp(min=low, max=high)
    return (t - low) / max(high - low, 1e-5)


def normalize_each(kernels, value_range=(-1.0, 1.0)):
    return torch.stack([norm_range(t, *value_range) for t in kernels])
