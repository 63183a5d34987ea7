"""Helpers that turn convolution filters into images in a fixed value range."""
import torch


def norm_range(t, low, high):
    t.clamp_(min=low, max=high)
    t.sub_(low).div_(max(high - low, 1e-5))


def normalize_each(kernels, value_range=(-1.0, 1.0)):
    images = kernels.clone()
    for t in images:
        norm_range(t, *value_range)
    return images
