"""WLitePose's lightweight deconvolution module (paper 004, Section III-B, Figs. 2 and 3)."""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn.conv import ConvBNAct
from featherpose.nn.upsample import DepthwiseDeconvUp


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: (N, g*c, H, W) viewed as (g, c), transposed to (c, g), flattened."""
    n, ch, h, w = x.shape
    return x.view(n, groups, ch // groups, h, w).transpose(1, 2).reshape(n, ch, h, w)


class LightweightResidual(nn.Module):
    """Lightweight residual block (Fig. 3): 1x1 group conv (``groups``) -> BN -> ReLU -> channel shuffle
    -> 3x3 depthwise -> BN -> 1x1 group conv -> BN, plus the identity, then ReLU.

    It is HigherHRNet's basic residual block with ShuffleNet's cheap convolutions; ``channels`` must be
    a multiple of ``groups``.
    """

    def __init__(self, channels: int, groups: int = 3) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"channels ({channels}) must be a multiple of groups ({groups})")
        self.groups = groups
        self.gconv1 = ConvBNAct(channels, channels, 1, groups=groups, act="relu")
        self.dw = ConvBNAct(channels, channels, 3, groups=channels, act=None)
        self.gconv2 = ConvBNAct(channels, channels, 1, groups=groups, act=None)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gconv2(self.dw(channel_shuffle(self.gconv1(x), self.groups)))
        return self.act(x + y)


class LightweightDeconvModule(nn.Module):
    """Depthwise 4x4 transposed conv (x2) -> BN -> ReLU -> 1x1 conv -> BN -> ReLU (Fig. 2), then
    ``num_blocks`` :class:`LightweightResidual` blocks and a 1x1 conv to ``out_maps`` heatmaps.

    Input (N, ``in_ch``, h, w) -> output (N, ``out_maps``, 2h, 2w).
    """

    def __init__(self, in_ch: int, channels: int, out_maps: int, num_blocks: int = 4, groups: int = 3) -> None:
        super().__init__()
        self.up = DepthwiseDeconvUp(in_ch, channels, kernel_size=4, stride=2, act="relu")
        self.blocks = nn.Sequential(*(LightweightResidual(channels, groups) for _ in range(num_blocks)))
        self.final = nn.Conv2d(channels, out_maps, 1, bias=False)
        self.in_channels, self.out_channels = in_ch, out_maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final(self.blocks(self.up(x)))
