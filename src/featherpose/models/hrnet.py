"""HRNet-W32 (Sun et al., CVPR 2019), the baseline of papers 001 and 003.

| stage | branches | modules | blocks per branch | channels          | block      |
|-------|----------|---------|-------------------|-------------------|------------|
| stem  | 1        | -       | 2 x conv3x3 s2    | 64                | -          |
| 1     | 1        | 1       | 4                 | 256               | Bottleneck |
| 2     | 2        | 1       | 4, 4              | W, 2W             | BasicBlock |
| 3     | 3        | 4       | 4, 4, 4           | W, 2W, 4W         | BasicBlock |
| 4     | 4        | 3       | 4, 4, 4, 4        | W, 2W, 4W, 8W     | BasicBlock |
"""

from __future__ import annotations

from featherpose.models.hrnet_body import HRNetPose, HRNetSpec, StageSpec
from featherpose.models.zoo import ModelSpec, paper_gmacs, register
from featherpose.nn.residual import BasicBlock

# (num_modules, num_blocks, channel multipliers of the base width W)
HRNET_STAGES: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...] = (
    (1, (4, 4), (1, 2)),
    (4, (4, 4, 4), (1, 2, 4)),
    (3, (4, 4, 4, 4), (1, 2, 4, 8)),
)


def hrnet_spec(width: int = 32) -> HRNetSpec:
    """The HRNet-W``width`` config table as an :class:`HRNetSpec`."""
    stages = tuple(
        StageSpec(m, blocks, tuple(width * k for k in mult), BasicBlock) for m, blocks, mult in HRNET_STAGES
    )
    return HRNetSpec(stages=stages)


def hrnet(width: int = 32, num_keypoints: int = 17) -> HRNetPose:
    """HRNet-W``width`` pose network with a 1x1 heatmap head."""
    return HRNetPose(hrnet_spec(width), num_keypoints)


_HRNET_NOTES = (
    "Official pose_hrnet w32 config. The paper's 7.1 'GFLOPs' is MACs / 2^30 (HRNet's get_model_summary): "
    "7.1 x 2^30 = 7.62e9 MACs; we count 7.65e9 at 256x192 (see docs/models/hrnet_family.md)."
)

register(
    ModelSpec(
        name="hrnet_w32",
        family="hrnet",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(256, 192),
        builder=hrnet,
        paper="Sun et al. 2019 (HRNet), as the baseline in papers 001 and 003",
        paper_params=28.5e6,
        paper_macs=paper_gmacs(7.1, "2^30"),
        paper_unit="2^30",
        defaults={"width": 32, "num_keypoints": 17},
        notes=_HRNET_NOTES,
    )
)

register(
    ModelSpec(
        name="hrnet_w32_mpii",
        family="hrnet",
        paradigm="top-down",
        keypoints="mpii16",
        input_size=(256, 256),
        builder=hrnet,
        paper="paper 003, Table 3 (Hrnet_W32 row, MPII 256x256)",
        paper_params=28.5e6,
        paper_macs=paper_gmacs(9.5, "2^30"),
        paper_unit="2^30",
        defaults={"width": 32, "num_keypoints": 16},
        notes="hrnet_w32 with 16 MPII joints at 256x256, as compared in paper 003.",
    )
)
