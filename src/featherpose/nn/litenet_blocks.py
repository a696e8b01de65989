"""HR-LiteNet's blocks (paper 003, Sec. 3.2, Figs. 4-5): L_block (two forms) and L_basic.

* **L_block**, form (a), ``out_ch == 4 * in_ch``: left branch = 1x1 conv-BN to ``out_ch`` (the
  residual projection); right branch = 1x1 conv-BN-ReLU to ``mid = out_ch / 4`` -> 3x3 depthwise
  separable conv -> two sub-branches, a 1x1 conv-BN (half of ``out_ch``) and a Ghost module (the
  other half), concatenated; left + right -> CBAM -> ReLU.
* **L_block**, form (b), ``out_ch == in_ch``: identity left branch; the right branch ends in a single
  Ghost module producing all ``out_ch`` maps; the rest as in (a).
* **L_basic**: three branches summed: identity (top), two 3x3 depthwise-separable conv layers
  (middle), CBAM of the input (bottom); then ReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn.attention import CBAM
from featherpose.nn.conv import ConvBNAct, DepthwiseSeparable
from featherpose.nn.ghost import GhostModule


class LBlock(nn.Module):
    """L_block: form (a) when ``out_ch != in_ch`` (1x1 projection + conv/Ghost split), form (b) when
    equal (identity + Ghost); ``mid = out_ch // expansion``."""

    expansion = 4

    def __init__(self, in_ch: int, out_ch: int, cbam_reduction: int = 16) -> None:
        super().__init__()
        mid = out_ch // self.expansion
        self.expanding = in_ch != out_ch
        self.left: nn.Module = ConvBNAct(in_ch, out_ch, 1, act=None) if self.expanding else nn.Identity()
        self.reduce = nn.Sequential(ConvBNAct(in_ch, mid, 1), DepthwiseSeparable(mid, mid, 3))
        if self.expanding:
            half = out_ch // 2
            self.conv_part: nn.Module | None = ConvBNAct(mid, half, 1, act=None)
            self.ghost = GhostModule(mid, out_ch - half, act=None)
        else:
            self.conv_part = None
            self.ghost = GhostModule(mid, out_ch, act=None)
        self.cbam = CBAM(out_ch, cbam_reduction)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.reduce(x)
        right = (
            self.ghost(z) if self.conv_part is None else torch.cat([self.conv_part(z), self.ghost(z)], dim=1)
        )
        return self.relu(self.cbam(self.left(x) + right))


class LBasic(nn.Module):
    """L_basic: ``ReLU(x + DWSep(DWSep(x)) + CBAM(x))`` (a 1x1 projection replaces the identity and
    feeds CBAM when ``in_ch != out_ch``)."""

    def __init__(self, in_ch: int, out_ch: int, cbam_reduction: int = 16) -> None:
        super().__init__()
        self.shortcut: nn.Module = nn.Identity() if in_ch == out_ch else ConvBNAct(in_ch, out_ch, 1, act=None)
        self.convs = nn.Sequential(
            DepthwiseSeparable(in_ch, out_ch, 3),
            DepthwiseSeparable(out_ch, out_ch, 3, act=None, dw_act="relu"),
        )
        self.cbam = CBAM(out_ch, cbam_reduction)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.shortcut(x)
        return self.relu(s + self.convs(x) + self.cbam(s))
