"""GADNet (paper 001): HRNet with GaBlocks in the branches and GdBlock / GDModule down-sampling.

Paper 001 gives the structure in prose (its Tables 1 and 3 are not in our copy); this table is the
reading that follows every rule the prose states and lands on the abstract's reductions
(-60.7% parameters, -61.2% MACs vs HRNet-W32); see docs/models/hrnet_family.md.

| stage | branches | modules | GaBlocks per branch | channels       | down-sampling          |
|-------|----------|---------|---------------------|----------------|------------------------|
| stem  | 1        | -       | 2 x conv3x3 s2      | 64             | -                      |
| 1     | 1        | 1       | 3 Bottlenecks       | 256            | -                      |
| 2     | 2        | 1       | 3, 3                | W, 2W          | GdBlock (transition)   |
| 3     | 3        | 4       | 3, 3, 6             | W, 2W, 4W      | GdBlock / GDModule     |
| 4     | 4        | 3       | 3, 3, 6, 6          | W, 2W, 4W, 8W  | GdBlock / GDModule     |

Branch rule (paper 001, ADModule): branch 2 has as many GaBlocks as branch 1, branch 3 twice as many
as branch 2, branch 4 as many as branch 3; each branch doubles the width of the one above.
"""

from __future__ import annotations

from functools import partial

from torch import nn

from featherpose.models.hrnet_body import HRNetPose, HRNetSpec, StageSpec
from featherpose.models.zoo import ModelSpec, paper_gmacs, register
from featherpose.nn.gadnet_blocks import GaBlock, GdBlock

STAGE1_BOTTLENECKS = 3  # "Stage 1 of the model includes StemNet and three Bottlenecks"
BRANCH_BLOCKS = (3, 3, 6, 6)  # GaBlocks on branches 1..4 of every exchange unit
STAGE_MODULES = (1, 4, 3)  # exchange units in stages 2, 3, 4 (as HRNet)
HRNET_W32_PARAMS = 28.5e6  # the abstract's reference (HRNet-W32, 256x192): 28.5M / 7.1 "GFLOPs"
HRNET_W32_MACS = paper_gmacs(7.1, "2^30")  # = MACs / 2^30 (HRNet's get_model_summary), docs/models.md "One cost unit"


def gd_down(in_ch: int, out_ch: int, act: bool) -> nn.Module:
    """One stride-2 step of a GDModule (fusion down path / new-branch transition)."""
    return GdBlock(in_ch, out_ch, act=act)


def gadnet_spec(width: int = 32, ga_units: int = 1) -> HRNetSpec:
    """GADNet-W``width`` as an :class:`HRNetSpec`."""
    block = partial(GaBlock, units=ga_units)
    stages = tuple(
        StageSpec(m, BRANCH_BLOCKS[:n], tuple(width * 2**b for b in range(n)), block)
        for m, n in zip(STAGE_MODULES, (2, 3, 4), strict=True)
    )
    return HRNetSpec(stages=stages, stage1_blocks=STAGE1_BOTTLENECKS, down=gd_down)


def gadnet(width: int = 32, num_keypoints: int = 17, ga_units: int = 1) -> HRNetPose:
    """GADNet-W``width`` with a 1x1 heatmap head (``ga_units=2`` ghosts both convs of a BasicBlock)."""
    return HRNetPose(gadnet_spec(width, ga_units), num_keypoints)


register(
    ModelSpec(
        name="gadnet_w32",
        family="gadnet",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(256, 192),
        builder=gadnet,
        paper="paper 001 (GADNet), abstract: -60.7% params, -61.2% GFLOPs vs HRNet-W32",
        paper_params=round(HRNET_W32_PARAMS * (1 - 0.607), -4),
        paper_macs=round(HRNET_W32_MACS * (1 - 0.612), -7),
        paper_unit="2^30",
        defaults={"width": 32, "num_keypoints": 17},
        notes="Figures derived from the abstract's reductions applied to 28.5M / 7.1G; compare the "
        "reductions against hrnet_w32 under the same counter.",
    )
)

register(
    ModelSpec(
        name="gadnet_w48",
        family="gadnet",
        paradigm="top-down",
        keypoints="coco17",
        input_size=(256, 192),
        builder=gadnet,
        paper="paper 001 (GADNet), W48 variant ('32 and 48 as the base channels')",
        paper_params=None,
        paper_macs=None,
        defaults={"width": 48, "num_keypoints": 17},
        notes="Paper 001's Table 4 figures for W48 are not in the text we have; same table as W32.",
    )
)
