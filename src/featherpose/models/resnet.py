"""ResNet-50 backbone (bottleneck v1, torchvision layout: stride on the 3x3 conv), without pool and fc."""

from __future__ import annotations

import torch
from torch import nn

from featherpose.models.weight_init import init_backbone
from featherpose.nn import ConvBNAct

# stage: (bottleneck width, blocks, stride); output channels = 4 x width.
RESNET50 = (
    (64, 3, 1),  # conv2_x, 1/4
    (128, 4, 2),  # conv3_x, 1/8
    (256, 6, 2),  # conv4_x, 1/16
    (512, 3, 2),  # conv5_x, 1/32
)
EXPANSION = 4


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (carries the stride) -> 1x1 expand (x4), each with BN; ReLU after the sum.
    The shortcut is a strided 1x1 conv-BN when the shape changes."""

    def __init__(self, in_ch: int, width: int, stride: int = 1) -> None:
        super().__init__()
        out_ch = width * EXPANSION
        self.body = nn.Sequential(
            ConvBNAct(in_ch, width, 1),
            ConvBNAct(width, width, 3, stride),
            ConvBNAct(width, out_ch, 1, act=None),
        )
        self.shortcut = (
            nn.Identity() if stride == 1 and in_ch == out_ch else ConvBNAct(in_ch, out_ch, 1, stride, act=None)
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """7x7 stride-2 stem conv + 3x3 stride-2 max-pool, then bottleneck stages; output stride 32."""

    stride = 32

    def __init__(self, stages: tuple[tuple[int, int, int], ...] = RESNET50, in_ch: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(ConvBNAct(in_ch, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        layers: list[nn.Module] = []
        ch = 64
        for width, blocks, stride in stages:
            for i in range(blocks):
                layers.append(Bottleneck(ch, width, stride if i == 0 else 1))
                ch = width * EXPANSION
        self.layers = nn.Sequential(*layers)
        self.out_channels = ch
        init_backbone(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))


def resnet50() -> ResNet:
    """ResNet-50 feature extractor: 2048 channels at 1/32, 23.5M parameters."""
    return ResNet(RESNET50)
