"""Attention blocks: squeeze-and-excitation, CBAM, and GhostNetV2's DFC attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from featherpose.nn.conv import ConvBNAct, make_activation, make_divisible


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global average pool -> FC (1x1 conv) -> act -> FC -> gate -> scale.

    ``gate="hsigmoid"`` is MobileNetV3's and GhostNet's variant. The hidden width is
    ``hidden`` if given, else ``make_divisible(channels / reduction, divisor)``.
    """

    def __init__(
        self,
        channels: int,
        reduction: float = 4,
        gate: str = "sigmoid",
        act: str = "relu",
        hidden: int | None = None,
        divisor: int = 8,
    ) -> None:
        super().__init__()
        hidden = hidden or make_divisible(channels / reduction, divisor)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.act = make_activation(act)
        self.fc2 = nn.Conv2d(hidden, channels, 1)
        self.gate = make_activation(gate)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gate, shape (N, C, 1, 1)."""
        return self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class ChannelAttention(nn.Module):
    """CBAM's channel attention: a shared MLP on average- and max-pooled descriptors."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(F.adaptive_avg_pool2d(x, 1))
        mx = self.mlp(F.adaptive_max_pool2d(x, 1))
        return torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """CBAM's spatial attention: a ``k x k`` conv over channel-wise mean and max maps."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Convolutional block attention module: channel attention, then spatial attention."""

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(spatial_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel(x)
        return x * self.spatial(x)


class DFCAttention(nn.Module):
    """GhostNetV2's decoupled fully-connected attention; ``forward`` returns the gate.

    Average-pool by 2, a ``k x k`` conv-BN (``in_ch -> out_ch``), depthwise ``1 x 5`` and ``5 x 1``
    conv-BN, sigmoid, nearest upsampling back to the input size. Multiply a feature map of
    ``out_ch`` channels by the result.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, stride: int = 1, long_kernel: int = 5) -> None:
        super().__init__()
        self.stride = stride
        self.convs = nn.Sequential(
            ConvBNAct(in_ch, out_ch, kernel_size, stride, act=None),
            ConvBNAct(out_ch, out_ch, (1, long_kernel), groups=out_ch, act=None),
            ConvBNAct(out_ch, out_ch, (long_kernel, 1), groups=out_ch, act=None),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // self.stride, x.shape[-1] // self.stride
        gate = torch.sigmoid(self.convs(F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)))
        return F.interpolate(gate, size=(h, w), mode="nearest")
