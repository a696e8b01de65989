"""GADNet's blocks (paper 001): GaBlock (Ghost + SE, replaces HRNet's BasicBlock), GdBlock (Ghost +
SE stride-2 step, replaces HRNet's strided 3x3 conv) and GDModule (a chain of GdBlocks).

The paper describes the blocks in prose only (Figs. 5-8); the reading implemented here:

* **GaBlock**: a regular ``k x k`` conv makes the intrinsic maps ``U_c`` (``ceil(out / ratio)``
  channels); SE (squeeze, FC reduce by 16, ReLU, FC expand, sigmoid, channel-wise scale) weights
  them; a cheap depthwise ``d x d`` conv turns the weighted maps into the ghost maps ``G``;
  ``concat(U_c, G)`` is the Ga feature map, added to the identity and passed through ReLU.
* **GdBlock**: two parallel operations on the input: a regular stride-2 ``k x k`` conv (intrinsic
  maps) and a cheap stride-2 grouped ``d x d`` conv (ghost maps, ``groups = gcd(in, ghost)``, i.e.
  depthwise whenever the widths allow); SE weights the ghost maps; the two are concatenated.
* **GDModule**: ``steps`` GdBlocks; only the last one changes the channel count (HRNet's fusion
  down path has the same shape).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from featherpose.nn.attention import SqueezeExcite
from featherpose.nn.conv import ConvBNAct
from featherpose.nn.residual import projection_shortcut


def _se(channels: int, reduction: int) -> SqueezeExcite:
    """Paper 001's SE: reduction 16, ReLU, sigmoid gate (hidden width rounded to a multiple of 4)."""
    return SqueezeExcite(channels, reduction=reduction, gate="sigmoid", divisor=4)


class GaUnit(nn.Module):
    """Intrinsic conv -> SE on the intrinsic maps -> cheap depthwise conv -> concat (no residual)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        ratio: int = 2,
        dw_size: int = 3,
        se_reduction: int = 16,
    ) -> None:
        super().__init__()
        self.out_ch = out_ch
        init_ch = math.ceil(out_ch / ratio)
        self.primary = ConvBNAct(in_ch, init_ch, kernel_size)
        self.se = _se(init_ch, se_reduction)
        self.cheap = ConvBNAct(init_ch, init_ch * (ratio - 1), dw_size, groups=init_ch, act=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.primary(x)
        return torch.cat([u, self.cheap(self.se(u))], dim=1)[:, : self.out_ch]


class GaBlock(nn.Module):
    """``units`` Ga units in sequence plus an identity (or 1x1 projection) shortcut, then ReLU.

    ``units=1`` is GADNet's GaBlock; ``units=2`` is a BasicBlock with both 3x3 convs ghosted.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        units: int = 1,
        kernel_size: int = 3,
        ratio: int = 2,
        dw_size: int = 3,
        se_reduction: int = 16,
    ) -> None:
        super().__init__()
        widths = [in_ch] + [out_ch] * (units - 1)
        self.body = nn.Sequential(
            *[GaUnit(w, out_ch, kernel_size, ratio, dw_size, se_reduction) for w in widths]
        )
        self.shortcut = projection_shortcut(in_ch, out_ch)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class GdBlock(nn.Module):
    """Stride-2 Ghost step: ``concat(conv_s2(x), SE(cheap_s2(x)))``; ReLU on both parts if ``act``."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        act: bool = True,
        stride: int = 2,
        kernel_size: int = 3,
        dw_size: int = 3,
        ratio: int = 2,
        se_reduction: int = 16,
    ) -> None:
        super().__init__()
        init_ch = math.ceil(out_ch / ratio)
        ghost_ch = out_ch - init_ch
        a = "relu" if act else None
        self.primary = ConvBNAct(in_ch, init_ch, kernel_size, stride, act=a)
        self.cheap = ConvBNAct(in_ch, ghost_ch, dw_size, stride, groups=math.gcd(in_ch, ghost_ch), act=a)
        self.se = _se(ghost_ch, se_reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.primary(x), self.se(self.cheap(x))], dim=1)


class GDModule(nn.Sequential):
    """``steps`` GdBlocks down-sampling by ``2**steps``; only the last one changes the width and only
    the last one may drop its activation (``last_act``)."""

    def __init__(self, in_ch: int, out_ch: int, steps: int = 1, last_act: bool = True) -> None:
        blocks = [GdBlock(in_ch, in_ch) for _ in range(steps - 1)]
        blocks.append(GdBlock(in_ch, out_ch, act=last_act))
        super().__init__(*blocks)
