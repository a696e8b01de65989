"""ResNet-style residual blocks as HRNet uses them: BasicBlock and Bottleneck.

Both take ``(in_ch, out_ch, stride)`` with ``out_ch`` the block's *output* width; a 1x1 conv-BN
projection shortcut is added automatically when the shape changes (HRNet's ``downsample``).
"""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn.conv import ConvBNAct


def projection_shortcut(in_ch: int, out_ch: int, stride: int = 1) -> nn.Module:
    """Identity when the shape is kept, else a 1x1 conv-BN (no activation)."""
    if in_ch == out_ch and stride == 1:
        return nn.Identity()
    return ConvBNAct(in_ch, out_ch, 1, stride, act=None)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers (ReLU between) plus a shortcut, then ReLU."""

    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_ch, out_ch, 3, stride)
        self.conv2 = ConvBNAct(out_ch, out_ch, 3, act=None)
        self.shortcut = projection_shortcut(in_ch, out_ch, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce to ``out_ch / 4`` -> 3x3 -> 1x1 expand, plus a shortcut, then ReLU."""

    expansion = 4

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        mid = out_ch // self.expansion
        self.conv1 = ConvBNAct(in_ch, mid, 1)
        self.conv2 = ConvBNAct(mid, mid, 3, stride)
        self.conv3 = ConvBNAct(mid, out_ch, 1, act=None)
        self.shortcut = projection_shortcut(in_ch, out_ch, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + self.shortcut(x))
