"""Deterministic weight initialisation shared by the top-down heatmap models."""

from __future__ import annotations

from torch import nn


def init_backbone(module: nn.Module) -> None:
    """Kaiming-normal (fan-out, ReLU) convolutions, BN to identity, linear layers N(0, 0.01), zero biases.

    This is the torchvision initialisation of ResNet and MobileNet, used when no ImageNet weights
    are loaded.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


def init_head(module: nn.Module, std: float = 0.001) -> None:
    """SimpleBaseline's head initialisation: every (transposed) conv N(0, ``std``), zero biases, BN to identity."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
