"""LitePose (Wang et al., CVPR 2022): the single-branch bottom-up network that paper 004 builds on.

A MobileNetV2-style stem, four stages of inverted bottlenecks with 7x7 depthwise kernels (total stride
16: the fourth stage keeps stride 1), then three "fusion deconvolutions" that each upsample the refined
path and a backbone skip with 4x4 transposed convs, sum them and apply BN-ReLU (1/16 -> 1/8 -> 1/4 ->
1/2). After the second and third, two separable 5x5 final layers (one on the refined features, one on
the matching backbone skip) are summed into the predictions.

Output contract (the associative-embedding codec relies on it)::

    out_quarter, out_half = model(images)            # images: (N, 3, H, W), H and W multiples of 16
    out_quarter: (N, 2K, H/4, W/4)  K heatmaps, then K tag maps (one tag map per joint, same order)
    out_half:    (N, K,  H/2, W/2)  K heatmaps

The architecture configs are the searched LitePose-XS / -S of the reference release
(``mobile_configs/search-{XS,S}.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from featherpose.models.zoo import ModelSpec, register
from featherpose.nn.conv import ConvBNAct, make_divisible
from featherpose.nn.inverted_residual import InvertedResidual


@dataclass(frozen=True)
class StageCfg:
    """One backbone stage: ``blocks`` bottlenecks, the first with ``stride``; ``(expand, kernel)`` per block."""

    blocks: int
    stride: int
    channels: int
    expand: float = 6
    kernel: int = 7


@dataclass(frozen=True)
class LitePoseCfg:
    """A LitePose architecture: stem output width, four stages, and the three fusion-deconv widths."""

    stem_channels: int
    stages: tuple[StageCfg, ...]
    deconv_channels: tuple[int, int, int]


# Searched configs: every block is expansion 6 with a 7x7 depthwise kernel.
#                      blocks stride channels
LITEPOSE_CFGS: dict[str, LitePoseCfg] = {
    "xs": LitePoseCfg(16, (StageCfg(6, 2, 16), StageCfg(8, 2, 32), StageCfg(10, 2, 48), StageCfg(10, 1, 80)),
                      deconv_channels=(16, 24, 24)),
    "s": LitePoseCfg(16, (StageCfg(6, 2, 16), StageCfg(8, 2, 32), StageCfg(10, 2, 48), StageCfg(10, 1, 120)),
                     deconv_channels=(32, 24, 32)),
}  # fmt: skip

BlockFn = Callable[[int, int, int, float, int], nn.Module]  # (in, out, stride, expand, kernel) -> block


def inverted_bottleneck(in_ch: int, out_ch: int, stride: int, expand: float, kernel: int) -> nn.Module:
    """LitePose's block: MobileNetV2 inverted residual (ReLU6), hidden width rounded to a multiple of 8."""
    hidden = make_divisible(round(in_ch * expand), 8)
    return InvertedResidual(in_ch, out_ch, stride, kernel_size=kernel, act="relu6", hidden=hidden)


class FusionDeconv(nn.Module):
    """Refined path and backbone skip each upsampled x2 by a 4x4 transposed conv, summed, BN, ReLU."""

    def __init__(self, refined_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.refined = nn.ConvTranspose2d(refined_ch, out_ch, 4, 2, 1, bias=False)
        self.skip = nn.ConvTranspose2d(skip_ch, out_ch, 4, 2, 1, bias=False)
        self.bn_act = nn.Sequential(nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))

    def forward(self, refined: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.bn_act(self.refined(refined) + self.skip(skip))


class SeparableFinal(nn.Sequential):
    """LitePose's final layer: 5x5 depthwise conv -> BN -> ReLU -> 1x1 conv (no bias) to the output maps."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 5) -> None:
        super().__init__(
            ConvBNAct(in_ch, in_ch, kernel_size, groups=in_ch, act="relu"), nn.Conv2d(in_ch, out_ch, 1, bias=False)
        )


def init_deterministic(model: nn.Module, seed: int = 0) -> None:
    """Seeded initialisation that leaves the global RNG untouched: Kaiming-normal (fan-out) convs and
    transposed convs, zero biases, BN to identity; the 1x1 output convs of the final layers N(0, 0.001)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in model.modules():
            if isinstance(m, SeparableFinal):
                nn.init.normal_(m[1].weight, 0.0, 0.001)


class LitePose(nn.Module):
    """LitePose: returns ``(out_quarter, out_half)``, see the module docstring for the contract.

    ``block`` builds each backbone bottleneck (WLitePose swaps in the DFC-bottleneck): one factory for
    every stage, or one per stage (paper 004 Table VII places the DFC-bottleneck stage by stage).
    """

    def __init__(self, cfg: LitePoseCfg, num_keypoints: int = 17,
                 block: BlockFn | Sequence[BlockFn] = inverted_bottleneck, seed: int = 0) -> None:  # fmt: skip
        super().__init__()
        self.cfg, self.num_keypoints = cfg, num_keypoints
        self.stem = nn.Sequential(
            ConvBNAct(3, 32, 3, 2, act="relu6"),
            ConvBNAct(32, 32, 3, groups=32, act="relu6"),
            ConvBNAct(32, cfg.stem_channels, 1, act=None),
        )
        widths = [cfg.stem_channels]  # channels at strides 2, 4, 8, 16, 16
        blocks = list(block) if isinstance(block, Sequence) else [block] * len(cfg.stages)
        if len(blocks) != len(cfg.stages):
            raise ValueError(f"LitePose: {len(blocks)} block factories for {len(cfg.stages)} stages")
        stages = []
        for st, make in zip(cfg.stages, blocks, strict=True):
            layers = [make(widths[-1] if i == 0 else st.channels, st.channels, st.stride if i == 0 else 1,
                           st.expand, st.kernel) for i in range(st.blocks)]  # fmt: skip
            stages.append(nn.Sequential(*layers))
            widths.append(st.channels)
        self.stages = nn.ModuleList(stages)
        d = cfg.deconv_channels
        # Fusion i upsamples the refined path and the skip x_list[-i-2]: stage3 -> 1/8, stage2 -> 1/4, stage1 -> 1/2.
        self.fusions = nn.ModuleList(
            [FusionDeconv(widths[-1], widths[-2], d[0]), FusionDeconv(d[0], widths[-3], d[1]),
             FusionDeconv(d[1], widths[-4], d[2])]
        )  # fmt: skip
        k = num_keypoints
        self.final_quarter = nn.ModuleList([SeparableFinal(d[1], 2 * k), SeparableFinal(widths[-4], 2 * k)])
        self.final_half = nn.ModuleList([SeparableFinal(d[2], k), SeparableFinal(widths[-5], k)])
        self.quarter_channels = d[1]
        init_deterministic(self, seed)

    def backbone(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at strides 2 (stem), 4, 8, 16, 16 (stages 1-4)."""
        feats = [self.stem(x)]
        for stage in self.stages:
            feats.append(stage(feats[-1]))
        return feats

    def head(self, feats: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fusion deconvs and final layers: ``(quarter_features, out_quarter, out_half)``."""
        stem, s1, s2, s3, s4 = feats
        y8 = self.fusions[0](s4, s3)
        y4 = self.fusions[1](y8, s2)
        y2 = self.fusions[2](y4, s1)
        out_quarter = self.final_quarter[0](y4) + self.final_quarter[1](s1)
        out_half = self.final_half[0](y2) + self.final_half[1](stem)
        return y4, out_quarter, out_half

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, out_quarter, out_half = self.head(self.backbone(x))
        return out_quarter, out_half


def litepose(variant: str = "xs", num_keypoints: int = 17, seed: int = 0) -> LitePose:
    """LitePose-``variant`` (``"xs"`` or ``"s"``) predicting ``num_keypoints`` joints; the weights depend
    only on ``seed`` and the global RNG is left untouched."""
    with torch.random.fork_rng(devices=[]):
        return LitePose(LITEPOSE_CFGS[variant], num_keypoints=num_keypoints, seed=seed)


_NOTES = ("Outputs (out_quarter, out_half): (N, 2K, H/4, W/4) = K heatmaps then K AE tag maps, and "
          "(N, K, H/2, W/2) heatmaps. Searched config from the reference release.")  # fmt: skip

register(ModelSpec(name="litepose_xs", family="litepose", paradigm="bottom-up", keypoints="coco17",
                   input_size=(256, 256), builder=litepose, paper="004 Table I (LitePose-XS); Wang et al. CVPR 2022",
                   paper_params=1.7e6, paper_macs=1.2e9, defaults={"variant": "xs"}, notes=_NOTES))  # fmt: skip
register(ModelSpec(name="litepose_s", family="litepose", paradigm="bottom-up", keypoints="coco17",
                   input_size=(448, 448), builder=litepose, paper="004 Table I (LitePose-S); Wang et al. CVPR 2022",
                   paper_params=2.7e6, paper_macs=5.0e9, defaults={"variant": "s"}, notes=_NOTES))  # fmt: skip

__all__ = ["LITEPOSE_CFGS", "FusionDeconv", "LitePose", "LitePoseCfg", "SeparableFinal", "StageCfg",
           "init_deterministic", "inverted_bottleneck", "litepose"]  # fmt: skip
