"""MobileNetV2 / V3 inverted residual block."""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn.attention import SqueezeExcite
from featherpose.nn.conv import ConvBNAct, make_divisible


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when ``hidden == in_ch``) -> ``k x k`` depthwise -> [SE] -> 1x1 linear
    project, with a residual connection when ``stride == 1`` and ``in_ch == out_ch``.

    MobileNetV2: ``expand_ratio=6, act="relu6"``. MobileNetV3: pass ``hidden`` (the table's
    "exp size"), ``act="hswish"`` or ``"relu"``, and ``se=True`` (hard-sigmoid SE on the expanded
    features, hidden width ``make_divisible(hidden / 4, 8)``).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        expand_ratio: float = 6,
        kernel_size: int = 3,
        act: str = "relu6",
        se: bool = False,
        hidden: int | None = None,
        se_gate: str = "hsigmoid",
    ) -> None:
        super().__init__()
        hidden = hidden or int(round(in_ch * expand_ratio))
        self.use_residual = stride == 1 and in_ch == out_ch
        layers: list[nn.Module] = []
        if hidden != in_ch:
            layers.append(ConvBNAct(in_ch, hidden, 1, act=act))
        layers.append(ConvBNAct(hidden, hidden, kernel_size, stride, groups=hidden, act=act))
        if se:
            layers.append(SqueezeExcite(hidden, gate=se_gate, hidden=make_divisible(hidden / 4, 8)))
        layers.append(ConvBNAct(hidden, out_ch, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.in_channels, self.out_channels, self.stride = in_ch, out_ch, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y
