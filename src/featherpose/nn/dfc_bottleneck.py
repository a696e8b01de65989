"""WLitePose's DFC-bottleneck block (paper 004, Section III-C, Fig. 5)."""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn.attention import DFCAttention
from featherpose.nn.conv import make_divisible


class DFCBottleneck(nn.Module):
    """LitePose's inverted bottleneck with a GhostNetV2 DFC-attention gate beside the large depthwise conv.

    Default layout (``dw_first=False``, the one the WLitePose models use)::

        x -> 1x1 expand (in -> hidden) -> k x k depthwise (stride) --*--> BN -> GELU -> 1x1 project -> (+ x)
        x -> DFC attention (avg-pool/2, 1x1 in -> hidden, DW 1x5, DW 5x1, sigmoid, upsample) --^

    One BN and one GELU, both between the two 1x1 convolutions; the gate is computed from the block
    input, as in GhostNetV2, and multiplies the depthwise output element-wise (paper Eq. 11).

    ``dw_first=True`` is the paper's literal "moved-up" (ConvNeXt) order: the depthwise conv and the
    gate act on the ``in_ch`` input channels, then BN -> 1x1 expand -> GELU -> 1x1 project. It is
    kept for ablations; at LitePose sizes it lands far below the paper's MACs (docs/models/litepose_family.md).

    ``hidden = make_divisible(round(in_ch * expand_ratio), 8)`` as in LitePose. The projection has a
    bias (no norm follows it); the other convolutions do not. A residual joins when ``stride == 1`` and
    ``in_ch == out_ch``.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        expand_ratio: float = 6,
        kernel_size: int = 7,
        dw_first: bool = False,
        long_kernel: int = 5,
    ) -> None:
        super().__init__()
        hidden = make_divisible(round(in_ch * expand_ratio), 8)
        dw_ch = in_ch if dw_first else hidden
        self.dw_first = dw_first
        self.expand = nn.Conv2d(in_ch, hidden, 1, bias=False)
        self.dw = nn.Conv2d(dw_ch, dw_ch, kernel_size, stride, kernel_size // 2, groups=dw_ch, bias=False)
        self.attention = DFCAttention(in_ch, dw_ch, kernel_size=1, stride=stride, long_kernel=long_kernel)
        self.norm = nn.BatchNorm2d(dw_ch)
        self.act = nn.GELU()
        self.project = nn.Conv2d(hidden, out_ch, 1, bias=True)
        self.use_residual = stride == 1 and in_ch == out_ch
        self.in_channels, self.out_channels, self.hidden_channels, self.stride = in_ch, out_ch, hidden, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.attention(x)
        if self.dw_first:
            y = self.project(self.act(self.expand(self.norm(self.dw(x) * gate))))
        else:
            y = self.project(self.act(self.norm(self.dw(self.expand(x)) * gate)))
        return x + y if self.use_residual else y
