"""Lightweight OpenPose (Osokin 2018): MobileNet-v1 backbone truncated at conv5_5 (stride 8) + the
Lightweight OpenPose head. The baseline row of paper 000's Table 5 (4.09M params, "9 GFLOPs").

Architecturally identical to the public reference ``PoseEstimationWithMobileNet``; its COCO checkpoint
(``checkpoint_iter_370000.pth``) loads with :func:`load_reference_checkpoint`.
"""

from __future__ import annotations

from torch import nn

from featherpose.models.openpose_checkpoint import load_reference_checkpoint
from featherpose.models.openpose_head import OpenPoseNet, conv, conv_dw
from featherpose.models.zoo import ModelSpec, register

# MobileNet-v1 up to conv5_5: (in, out, stride, dilation). Row 0 is a full 3x3 conv-BN-ReLU (no bias),
# the rest are depthwise-separable conv-BN-ReLU pairs. Total stride 8; conv4_2 onwards stays at 1/8.
MOBILENET_CFG: tuple[tuple[int, int, int, int], ...] = (
    (3, 32, 2, 1),  # conv1
    (32, 64, 1, 1),
    (64, 128, 2, 1),
    (128, 128, 1, 1),
    (128, 256, 2, 1),
    (256, 256, 1, 1),
    (256, 512, 1, 1),  # conv4_2
    (512, 512, 1, 2),  # dilated 3x3 depthwise
    (512, 512, 1, 1),
    (512, 512, 1, 1),
    (512, 512, 1, 1),
    (512, 512, 1, 1),  # conv5_5
)


def mobilenet_backbone(cfg: tuple[tuple[int, int, int, int], ...] = MOBILENET_CFG) -> nn.Sequential:
    """The truncated MobileNet-v1 feature extractor (output: ``cfg[-1]`` channels at stride 8)."""
    first, *rest = cfg
    layers = [conv(first[0], first[1], stride=first[2], bias=False)]
    layers += [conv_dw(i, o, stride=s, dilation=d) for i, o, s, d in rest]
    return nn.Sequential(*layers)


def lw_openpose(
    num_refinement_stages: int = 1, num_channels: int = 128, num_keypoints: int = 18, num_limbs: int = 19
) -> OpenPoseNet:
    """Lightweight OpenPose: ``num_keypoints + 1`` heatmaps (with background) and ``2 * num_limbs``
    PAF channels per stage, initial stage + ``num_refinement_stages`` refinement stages."""
    return OpenPoseNet(
        mobilenet_backbone(),
        backbone_channels=MOBILENET_CFG[-1][1],
        num_refinement_stages=num_refinement_stages,
        num_channels=num_channels,
        num_heatmaps=num_keypoints + 1,
        num_pafs=2 * num_limbs,
    )


register(
    ModelSpec(
        name="lw_openpose",
        family="openpose",
        paradigm="bottom-up",
        keypoints="openpose18",
        input_size=(368, 368),
        builder=lw_openpose,
        paper="000 Table 5 (baseline row); Osokin 2018, arXiv:1811.12004",
        paper_params=4.09e6,
        paper_macs=9e9,
        defaults={"num_refinement_stages": 1},
        notes="Reference-identical layout; load checkpoint_iter_370000.pth with load_reference_checkpoint. "
        "Input (img - 128) / 256, BGR.",
    )
)

__all__ = ["MOBILENET_CFG", "OpenPoseNet", "load_reference_checkpoint", "lw_openpose", "mobilenet_backbone"]
