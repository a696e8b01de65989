"""MobileNetV2 (width 1.0) backbone: Table 2 of Sandler et al. 2018, without pool and classifier."""

from __future__ import annotations

import torch
from torch import nn

from featherpose.models.weight_init import init_backbone
from featherpose.nn import ConvBNAct, InvertedResidual

# t (expansion), c (output channels), n (repeats), s (stride of the first repeat)
MOBILENETV2 = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


class MobileNetV2(nn.Module):
    """3x3 stride-2 conv (32) -> inverted residuals of the table -> 1x1 conv to 1280; ReLU6, output stride 32."""

    stride = 32

    def __init__(self, table: tuple[tuple[int, int, int, int], ...] = MOBILENETV2, in_ch: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(in_ch, STEM_CHANNELS, 3, 2, act="relu6")]
        ch = STEM_CHANNELS
        for t, c, n, s in table:
            for i in range(n):
                layers.append(InvertedResidual(ch, c, s if i == 0 else 1, expand_ratio=t, act="relu6"))
                ch = c
        layers.append(ConvBNAct(ch, LAST_CHANNELS, 1, act="relu6"))
        self.features = nn.Sequential(*layers)
        self.out_channels = LAST_CHANNELS
        init_backbone(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
