"""Depthwise transposed-convolution upsampling."""

from __future__ import annotations

from torch import nn

from featherpose.nn.conv import make_activation


class DepthwiseDeconvUp(nn.Sequential):
    """Depthwise ``k x k`` transposed conv (stride 2 doubles H and W) -> BN -> act, optionally
    followed by a pointwise conv-BN-act to ``out_ch`` channels."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int | None = None,
        kernel_size: int = 4,
        stride: int = 2,
        act: str | None = "relu",
    ) -> None:
        padding = (kernel_size - stride + 1) // 2
        output_padding = (kernel_size - stride) % 2
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_ch, in_ch, kernel_size, stride, padding, output_padding, groups=in_ch, bias=False),
            nn.BatchNorm2d(in_ch),
            make_activation(act),
        ]
        if out_ch is not None:
            layers += [nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch), make_activation(act)]
        super().__init__(*layers)
        self.in_channels, self.out_channels = in_ch, out_ch or in_ch
