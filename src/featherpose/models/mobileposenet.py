"""MobilePoseNet (paper 002): MobileNetV3-Large bottlenecks kept at 1/16 (Table 1), two lightweight
upsampling blocks (LPB) and a 1x1 heatmap conv; heatmaps at 1/4 of the input.

How the paper's vague parts are resolved (measurements: docs/models/mobile_family.md):

- Encoder = all 15 bottleneck rows of Table 1 (the stem + 12 bottlenecks are "the first 13 layers",
  then the three 5x5 160-channel bottlenecks at stride 1, exactly Table 6's "V2" encoder).
- The squeeze-and-excite of a bottleneck sits after the 1x1 projection, on its ``#out`` channels (as
  in the widely copied pre-2021 PyTorch MobileNetV3 of xiaolai-sqlai), not on the expanded
  channels as in the MobileNetV3 paper: with the latter the encoder alone is 2.8M parameters,
  more than the whole 1.5M model and more than Table 6's 2.5M "V1".
- Row 14 expands to 672 channels (that implementation's value) where Table 1 prints 960: 672 puts
  all three of Table 6's parameter counts (V1 2.5M, V2 2.1M, ours 1.5M) within 1%.

``mobileposenet(bnecks=TABLE1, se_position="expand")`` builds Table 1 read with the MobileNetV3
paper's SE placement (3.04M parameters).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from featherpose.models.encoder_decoder import EncoderDecoder
from featherpose.models.weight_init import init_backbone, init_head
from featherpose.models.zoo import ModelSpec, paper_gmacs, register
from featherpose.nn import ConvBNAct, SqueezeExcite, make_divisible
from featherpose.nn.lpb import LightweightUpsample

Bneck = tuple[int, int, int, bool, str, int]  # kernel, exp size, #out, SE, NL, stride

STEM = (16, "hswish", 2)  # Table 1, first row: Conv2d 3x3 -> 16 channels, h-swish, stride 2

# Table 1 as printed. Row 13 has stride 1 (2 in MobileNetV3) so the encoder stays at 1/16.
TABLE1: tuple[Bneck, ...] = (
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2),
    (3, 200, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1),
    (3, 480, 112, True, "hswish", 1),
    (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
)

# The encoder built by default: Table 1 with row 14's exp size 672 (see the module docstring).
BNECKS: tuple[Bneck, ...] = TABLE1[:13] + ((5, 672, 160, True, "hswish", 1),) + TABLE1[14:]

# Table 1 decoder rows: LPB kernel, exp size, #out, NL, stride (1/16 -> 1/8 -> 1/4).
LPBS = (
    (4, 320, 160, "relu", 2),
    (4, 320, 160, "relu", 2),
)


class MobileBottleneck(nn.Module):
    """MobileNetV3 bneck: [1x1 expand] -> ``k x k`` depthwise (stride) -> 1x1 linear project, with an
    optional hard-sigmoid SE on the expanded (``se_position="expand"``) or projected ("output")
    features; identity residual when the shape is kept."""

    def __init__(
        self, in_ch: int, exp: int, out_ch: int, kernel_size: int, stride: int, act: str, se: bool,
        se_position: str = "output",
    ) -> None:  # fmt: skip
        super().__init__()
        if se_position not in ("expand", "output"):
            raise ValueError(f"se_position must be 'expand' or 'output', not {se_position!r}")
        layers: list[nn.Module] = []
        if exp != in_ch:
            layers.append(ConvBNAct(in_ch, exp, 1, act=act))
        layers.append(ConvBNAct(exp, exp, kernel_size, stride, groups=exp, act=act))
        if se and se_position == "expand":
            layers.append(SqueezeExcite(exp, gate="hsigmoid", hidden=make_divisible(exp / 4, 8)))
        layers.append(ConvBNAct(exp, out_ch, 1, act=None))
        if se and se_position == "output":
            layers.append(SqueezeExcite(out_ch, gate="hsigmoid", hidden=make_divisible(out_ch / 4, 8)))
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


class MobileNetV3Encoder(nn.Sequential):
    """Stem conv + one :class:`MobileBottleneck` per table row; the rows' strides must multiply to
    ``output_stride`` (16 for MobilePoseNet)."""

    def __init__(
        self, bnecks: Sequence[Bneck] = BNECKS, se_position: str = "output", in_ch: int = 3, output_stride: int = 16
    ) -> None:
        ch, act, stride = STEM
        layers: list[nn.Module] = [ConvBNAct(in_ch, ch, 3, stride, act=act)]
        total_stride = stride
        for k, exp, out, se, nl, s in bnecks:
            layers.append(MobileBottleneck(ch, exp, out, k, s, nl, se, se_position))
            ch, total_stride = out, total_stride * s
        if total_stride != output_stride:
            raise ValueError(f"the bottleneck table must reach stride {output_stride}, it reaches {total_stride}")
        super().__init__(*layers)
        self.out_channels, self.stride = ch, output_stride
        init_backbone(self)


class LPBDecoder(nn.Sequential):
    """The LPBs of :data:`LPBS` and a linear 1x1 conv to ``num_keypoints`` heatmaps.

    Table 1 marks the last conv "RE"; it is kept linear, as in SimpleBaseline, so that heatmap
    regression gets gradients for negative outputs.
    """

    def __init__(self, in_ch: int, num_keypoints: int, se_reduction: int = 16) -> None:
        layers: list[nn.Module] = []
        for k, exp, out, nl, s in LPBS:
            layers.append(LightweightUpsample(in_ch, out, exp, k, s, act=nl, se_reduction=se_reduction))
            in_ch = out
        layers.append(nn.Conv2d(in_ch, num_keypoints, 1))
        super().__init__(*layers)
        init_backbone(self)
        init_head(self[-1])


def mobileposenet(
    num_keypoints: int = 17,
    bnecks: Sequence[Bneck] = BNECKS,
    se_position: str = "output",
    se_reduction: int = 16,
) -> EncoderDecoder:
    """MobilePoseNet: N x 3 x H x W -> N x K x H/4 x W/4 (H and W multiples of 16)."""
    encoder = MobileNetV3Encoder(bnecks, se_position)
    decoder = LPBDecoder(encoder.out_channels, num_keypoints, se_reduction)
    return EncoderDecoder(encoder, decoder, stride=encoder.stride, num_keypoints=num_keypoints)


_NOTES = (
    "Table 1 with SE after the projection and row 14 expanding to 672 (docs/models/mobile_family.md); "
    "inputs must be multiples of 16."
)

register(
    ModelSpec(
        name="mobileposenet",
        family="mobileposenet",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(256, 192),
        builder=mobileposenet,
        paper="002 (MobilePoseNet) Tables 1, 2 and 6",
        paper_params=1.5e6,
        paper_macs=paper_gmacs(0.55),  # decimal: Table 6 prints 557M (docs/models.md, "One cost unit")
        notes=_NOTES,
    )
)

register(
    ModelSpec(
        name="mobileposenet_384",
        family="mobileposenet",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(384, 288),
        builder=mobileposenet,
        paper="002 (MobilePoseNet) Tables 2 and 6",
        paper_params=1.5e6,
        paper_macs=paper_gmacs(1.23),
        notes=_NOTES,
    )
)
