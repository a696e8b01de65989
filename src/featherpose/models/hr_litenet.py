"""HR-LiteNet (paper 003, Table 1): HRNet with L_block in stage 1 and L_basic in the branches.

| stage | branches | exchange units | blocks per branch | channels           |
|-------|----------|----------------|-------------------|--------------------|
| stem  | 1        | -              | 2 x conv3x3 s2    | 64                 |
| 1     | 1        | -              | L_block x 4       | 256                |
| 2     | 2        | 1              | L_basic x 4       | 32, 64             |
| 3     | 3        | 3              | L_basic x 4       | 32, 64, 128        |
| 4     | 4        | 1              | L_basic x 4       | 32, 64, 128, 256   |

Table 1 prints "L_block x 4" for stages 2-4 but Sec. 3.1 says each swap block has 4 L_basic
modules; we follow the prose. Every 3x3 conv outside the stem (transitions and fusion down paths)
is depthwise separable; this is what lands on the paper's 1.92M / 1.46G (docs/models/hrnet_family.md).
"""

from __future__ import annotations

from torch import nn

from featherpose.models.hrnet_body import HRNetPose, HRNetSpec, StageSpec
from featherpose.models.zoo import ModelSpec, paper_gmacs, register
from featherpose.nn.conv import DepthwiseSeparable
from featherpose.nn.litenet_blocks import LBasic, LBlock

# (exchange units, blocks per branch, channels)
LITENET_STAGES: tuple[tuple[int, int, tuple[int, ...]], ...] = (
    (1, 4, (32, 64)),
    (3, 4, (32, 64, 128)),
    (1, 4, (32, 64, 128, 256)),
)


def dws_down(in_ch: int, out_ch: int, act: bool) -> nn.Module:
    """Stride-2 depthwise-separable step (DW 3x3 s2 -> BN -> ReLU -> PW -> BN [-> ReLU])."""
    return DepthwiseSeparable(in_ch, out_ch, 3, 2, act="relu" if act else None, dw_act="relu")


def dws_same_res(in_ch: int, out_ch: int) -> nn.Module:
    """Same-resolution depthwise-separable width change (stage 1 -> stage 2 transition)."""
    return DepthwiseSeparable(in_ch, out_ch, 3)


def hr_litenet_spec() -> HRNetSpec:
    """HR-LiteNet's Table 1 as an :class:`HRNetSpec`."""
    stages = tuple(StageSpec(m, (b,) * len(ch), ch, LBasic) for m, b, ch in LITENET_STAGES)
    return HRNetSpec(
        stages=stages, stage1_blocks=4, stage1_block=LBlock, down=dws_down, same_res=dws_same_res
    )


def hr_litenet(num_keypoints: int = 16) -> HRNetPose:
    """HR-LiteNet with a 1x1 heatmap head."""
    return HRNetPose(hr_litenet_spec(), num_keypoints)


register(
    ModelSpec(
        name="hr_litenet",
        family="hr_litenet",
        paradigm="top-down",
        keypoints="mpii16",
        input_size=(256, 256),
        builder=hr_litenet,
        paper="paper 003 (HR-LiteNet), Table 3",
        paper_params=1.92e6,
        paper_macs=paper_gmacs(1.46, "2^30"),
        paper_unit="2^30",
        defaults={"num_keypoints": 16},
        notes="Block internals and depthwise-separable transitions/fusion: see docs/models/hrnet_family.md.",
    )
)
