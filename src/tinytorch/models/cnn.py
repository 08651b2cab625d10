"""Module 10: the convolutional networks of the 1998 milestone (and the capstone).

``lenet`` follows LeCun et al. (1998) in spirit -- two convolution/pooling
stages, then fully connected layers -- with ReLU and max pooling as today;
``vgg_small`` is a VGG-style stack with batch norm for 32x32 colour images.
"""

from __future__ import annotations

from tinytorch import nn
from tinytorch.models.registry import architecture

__all__ = ["lenet", "vgg_small"]


@architecture("lenet")
def lenet(channels: int, size: int, classes: int) -> nn.Module:
    """Conv(32) -> ReLU -> MaxPool -> Conv(64) -> ReLU -> MaxPool -> FC(128) -> FC(classes)."""
    flat = 64 * (size // 4) * (size // 4)
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, classes))


@architecture("vgg_small")
def vgg_small(channels: int, classes: int) -> nn.Module:
    """Three conv-BN-ReLU stages (64, 128, 256 channels) with pooling, then global pooling."""
    def stage(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                nn.MaxPool2d(2)]
    return nn.Sequential(*stage(channels, 64), *stage(64, 128), *stage(128, 256),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, classes))
