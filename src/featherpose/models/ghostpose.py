"""GhostNet "Pose" (paper 000, Chen et al. 2025): Lightweight OpenPose with its MobileNet-v1 backbone
replaced by the first eleven GhostNet bottlenecks (Table 2), the last stride-2 removed so the features
stay at stride 8 (112 channels). CPM, initial stage and refinement stage(s) are Lightweight OpenPose's.

Paper figures (Table 5): 3.82M params, "7 GFLOPs" at 368x368 (-6.7% / -22.2% vs Lightweight OpenPose).
The registered ``ghostpose`` is Table 2 as printed (``width_mult=1.0``): 3.01M / 5.67 GMACs, 21% / 19%
below those figures; no reading of the table reaches them. GhostNet's width multiplier at 1.6 would
land on the figures (3.90M / 6.48G) but contradicts the table's 112 output channels, so it is only an
option (``build_model("ghostpose", width_mult=1.6)``); see docs/models/openpose_family.md.
"""

from __future__ import annotations

from torch import nn

from featherpose.models.openpose_head import OpenPoseNet
from featherpose.models.zoo import ModelSpec, register
from featherpose.nn import ConvBNAct, GhostBottleneck, make_divisible

STEM_CHANNELS = 16  # Table 2, row 1: Conv2d 3x3, 16 channels, stride 2 (BN + ReLU, as in GhostNet)

# Table 2 of paper 000: (in, exp, out, SE, stride) per G-bneck, plus the depthwise kernel size, which
# the table omits: 5x5 for the two 40-channel rows and 3x3 elsewhere, as in GhostNet's own table.
# The 240-expansion row has stride 1 here (GhostNet: 2), which keeps the output at stride 8.
GHOST_CFG: tuple[tuple[int, int, int, bool, int, int], ...] = (
    # in, exp, out,  SE,  stride, kernel
    (16, 16, 16, False, 1, 3),
    (16, 48, 24, False, 2, 3),
    (24, 72, 24, False, 1, 3),
    (24, 72, 40, True, 2, 5),
    (40, 120, 40, True, 1, 5),
    (40, 240, 80, False, 1, 3),
    (80, 200, 80, False, 1, 3),
    (80, 184, 80, False, 1, 3),
    (80, 184, 80, False, 1, 3),
    (80, 480, 112, True, 1, 3),
    (112, 672, 112, True, 1, 3),
)
SE_RATIO = 0.25  # GhostNet's SE width: make_divisible(exp * 0.25, 4), ReLU, hard-sigmoid gate
PAPER_WIDTH = 1.0  # the registered model is Table 2 as printed (1.6 would match Table 5's totals instead)


def _scale(channels: int, width_mult: float) -> int:
    """GhostNet's channel rounding under a width multiplier: a multiple of 4."""
    return channels if width_mult == 1.0 else make_divisible(channels * width_mult, 4)


def ghost_backbone(
    cfg: tuple[tuple[int, int, int, bool, int, int], ...] = GHOST_CFG, width_mult: float = 1.0
) -> nn.Sequential:
    """Stem conv + the Ghost bottlenecks of ``cfg``, every width scaled by ``width_mult``
    (output: ``_scale(cfg[-1] out, width_mult)`` channels at stride 8)."""
    layers: list[nn.Module] = [ConvBNAct(3, _scale(STEM_CHANNELS, width_mult), 3, stride=2, act="relu")]
    for in_ch, exp, out, se, stride, kernel in cfg:
        in_ch, exp, out = (_scale(c, width_mult) for c in (in_ch, exp, out))
        layers.append(GhostBottleneck(in_ch, exp, out, kernel, stride, se_ratio=SE_RATIO if se else 0.0))
    return nn.Sequential(*layers)


def ghostpose(
    num_refinement_stages: int = 1,
    num_channels: int = 128,
    num_keypoints: int = 18,
    num_limbs: int = 19,
    width_mult: float = 1.0,
) -> OpenPoseNet:
    """GhostNet "Pose": Table 2 backbone (widths x ``width_mult``) + Lightweight OpenPose CPM (aligning the
    backbone's 112 x ``width_mult`` channels to ``num_channels``), initial stage and
    ``num_refinement_stages`` refinement stages; same outputs as ``lw_openpose``.

    ``width_mult=1.0`` is Table 2 as printed; the zoo's ``ghostpose`` uses ``PAPER_WIDTH``.
    """
    return OpenPoseNet(
        ghost_backbone(width_mult=width_mult),
        backbone_channels=_scale(GHOST_CFG[-1][2], width_mult),
        num_refinement_stages=num_refinement_stages,
        num_channels=num_channels,
        num_heatmaps=num_keypoints + 1,
        num_pafs=2 * num_limbs,
    )


register(
    ModelSpec(
        name="ghostpose",
        family="openpose",
        paradigm="bottom-up",
        keypoints="openpose18",
        input_size=(368, 368),
        builder=ghostpose,
        paper="000 Table 2 (backbone) and Table 5 (improved network)",
        paper_params=3.82e6,
        paper_macs=7e9,
        defaults={"num_refinement_stages": 1, "width_mult": PAPER_WIDTH},
        notes="Table 2 as printed; 21% / 19% below Table 5's totals, which width_mult=1.6 would match. "
        "No public weights. Input as lw_openpose: (img - 128) / 256, BGR.",
    )
)

__all__ = ["GHOST_CFG", "PAPER_WIDTH", "ghost_backbone", "ghostpose"]
