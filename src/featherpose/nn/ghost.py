"""GhostNet (v1) building blocks: the Ghost module and the Ghost bottleneck."""

from __future__ import annotations

import math

import torch
from torch import nn

from featherpose.nn.attention import SqueezeExcite
from featherpose.nn.conv import ConvBNAct, make_divisible


class GhostModule(nn.Module):
    """Primary ``k x k`` conv to ``ceil(out / ratio)`` channels, then cheap depthwise ``dw x dw``
    convs make the remaining "ghost" maps; the two are concatenated and cut to ``out_ch``."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 1,
        ratio: int = 2,
        dw_size: int = 3,
        stride: int = 1,
        act: str | None = "relu",
    ) -> None:
        super().__init__()
        self.out_ch = out_ch
        init_ch = math.ceil(out_ch / ratio)
        new_ch = init_ch * (ratio - 1)
        self.primary = ConvBNAct(in_ch, init_ch, kernel_size, stride, act=act)
        self.cheap = ConvBNAct(init_ch, new_ch, dw_size, 1, groups=init_ch, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], dim=1)[:, : self.out_ch]


class GhostBottleneck(nn.Module):
    """GhostNet bottleneck: Ghost module (expand, ReLU) -> [depthwise stride-2 conv-BN] -> [SE]
    -> Ghost module (project, linear), plus a shortcut (identity, or depthwise + pointwise conv
    when the shape changes)."""

    def __init__(
        self,
        in_ch: int,
        mid_ch: int,
        out_ch: int,
        dw_kernel_size: int = 3,
        stride: int = 1,
        se_ratio: float = 0.0,
    ) -> None:
        super().__init__()
        self.ghost1 = GhostModule(in_ch, mid_ch, act="relu")
        self.dw = (
            ConvBNAct(mid_ch, mid_ch, dw_kernel_size, stride, groups=mid_ch, act=None) if stride > 1 else nn.Identity()
        )
        self.se = (
            SqueezeExcite(mid_ch, gate="hsigmoid", hidden=make_divisible(mid_ch * se_ratio, 4))
            if se_ratio > 0
            else nn.Identity()
        )
        self.ghost2 = GhostModule(mid_ch, out_ch, act=None)
        if in_ch == out_ch and stride == 1:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                ConvBNAct(in_ch, in_ch, dw_kernel_size, stride, groups=in_ch, act=None),
                ConvBNAct(in_ch, out_ch, 1, act=None),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ghost2(self.se(self.dw(self.ghost1(x)))) + self.shortcut(x)
