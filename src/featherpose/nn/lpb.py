"""MobilePoseNet's lightweight upsampling block (LPB), paper 002, Section 3.1 and Figure 3(b)."""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn.attention import SqueezeExcite
from featherpose.nn.conv import ConvBNAct, make_activation


class LightweightUpsample(nn.Module):
    """LPB: 1x1 expand ``C_in -> C*`` -> depthwise ``k x k`` stride-2 transposed conv on ``C*``
    channels -> 1x1 linear project ``C* -> C_out`` giving ``X'``; then SE channel attention
    fused as ``Y = X' + X' * att(X')`` (the paper's Eq. 5).

    Each conv is followed by BN; expand and depthwise are followed by ``act`` (Table 1: ReLU),
    the projection is linear as in the MobileNet bottleneck the block is modelled on. The SE is
    SENet's ("we directly use SENet"): ReLU, sigmoid gate, hidden width ``C_out // se_reduction``.
    Weights (without BN and SE) number ``C* (k^2 + C_in + C_out)`` (the paper's Eq. 4).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        expand_ch: int,
        kernel_size: int = 4,
        stride: int = 2,
        act: str = "relu",
        se_reduction: int = 16,
    ) -> None:
        super().__init__()
        padding = (kernel_size - stride + 1) // 2
        output_padding = (kernel_size - stride) % 2  # output is exactly ``stride`` x the input
        self.expand = ConvBNAct(in_ch, expand_ch, 1, act=act)
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(
                expand_ch, expand_ch, kernel_size, stride, padding, output_padding, groups=expand_ch, bias=False
            ),
            nn.BatchNorm2d(expand_ch),
            make_activation(act),
        )
        self.project = ConvBNAct(expand_ch, out_ch, 1, act=None)
        self.se = SqueezeExcite(out_ch, gate="sigmoid", act="relu", hidden=max(1, out_ch // se_reduction))
        self.in_channels, self.out_channels, self.stride = in_ch, out_ch, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.upsample(self.expand(x)))
        return y + y * self.se.attention(y)


LPB = LightweightUpsample
