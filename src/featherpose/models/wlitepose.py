"""WLitePose (paper 004): LitePose + DFC-bottleneck blocks + a lightweight deconvolution module.

* Every backbone bottleneck of LitePose becomes a :class:`~featherpose.nn.dfc_bottleneck.DFCBottleneck`
  (GhostNetV2 DFC attention in parallel with the 7x7 depthwise conv, GELU, one BN) — "All" row of
  Table VII.
* The lightweight deconvolution module (Figs. 2-3) takes the 1/4-resolution fused features
  concatenated with the 1/4 predictions (HigherHRNet's input; the paper's "66 input channels"),
  upsamples them with a depthwise 4x4 transposed conv + pointwise conv, refines them with four
  lightweight residual blocks (3-group 1x1 convs, channel shuffle, 3x3 depthwise) and predicts 1/2
  heatmaps. They are added to LitePose's own 1/2 prediction (the same sum LitePose uses to merge its
  refined and skip final layers), so the output contract is LitePose's::

    out_quarter: (N, 2K, H/4, W/4)  K heatmaps, then K tag maps (one per joint)
    out_half:    (N, K,  H/2, W/2)  K heatmaps

  At inference the two heatmap resolutions are upsampled to a common size and averaged (paper III).
* The heatmap-weighted loss (Eq. 4, tau = 0.01) is ``featherpose.losses.AssociativeEmbeddingLoss(weighted=True)``.

Every choice the paper leaves open is listed in docs/models/litepose_family.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from featherpose.models.litepose import LITEPOSE_CFGS, LitePose, LitePoseCfg, init_deterministic, inverted_bottleneck
from featherpose.models.zoo import ModelSpec, register
from featherpose.nn.dfc_bottleneck import DFCBottleneck
from featherpose.nn.lightweight_deconv import LightweightDeconvModule


@dataclass(frozen=True)
class WLitePoseCfg:
    """LitePose backbone/head config + the lightweight deconv module's width, depth and groups."""

    base: LitePoseCfg
    module_channels: int = 48  # the paper's 32 is not a multiple of 3 groups; 48 is the next that is
    module_blocks: int = 4
    module_groups: int = 3


WLITEPOSE_CFGS: dict[str, WLitePoseCfg] = {
    "xs": WLitePoseCfg(LITEPOSE_CFGS["xs"]),
    "s": WLitePoseCfg(LITEPOSE_CFGS["s"]),
}


def dfc_bottleneck(in_ch: int, out_ch: int, stride: int, expand: float, kernel: int) -> nn.Module:
    """The backbone block factory of WLitePose (see :class:`DFCBottleneck`)."""
    return DFCBottleneck(in_ch, out_ch, stride, expand_ratio=expand, kernel_size=kernel)


ALL_STAGES = (1, 2, 3, 4)


class WLitePose(LitePose):
    """WLitePose: LitePose with DFC-bottleneck blocks and the lightweight deconv module on the 1/2 output.

    The paper's ablation switches (Table VI / VII) are constructor arguments: ``dfc_stages`` = the
    backbone stages (1-4) whose bottlenecks are DFC-bottlenecks (the others keep LitePose's inverted
    bottleneck; ``()`` = none), ``deconv_module`` = whether the lightweight deconv module is added.
    With ``dfc_stages=()`` and ``deconv_module=False`` the network is LitePose's.
    """

    def __init__(self, cfg: WLitePoseCfg, num_keypoints: int = 17, seed: int = 0,
                 dfc_stages: Sequence[int] = ALL_STAGES, deconv_module: bool = True) -> None:  # fmt: skip
        stages = tuple(sorted({int(s) for s in dfc_stages}))
        bad = [s for s in stages if s not in ALL_STAGES]
        if bad:
            raise ValueError(f"WLitePose: dfc_stages must be among {ALL_STAGES}, got {list(dfc_stages)}")
        blocks = [dfc_bottleneck if i in stages else inverted_bottleneck for i in ALL_STAGES]
        super().__init__(cfg.base, num_keypoints=num_keypoints, block=blocks, seed=seed)
        self.dfc_stages, self.deconv_module = stages, bool(deconv_module)
        self.higher = None
        if deconv_module:
            self.higher = LightweightDeconvModule(
                self.quarter_channels + 2 * num_keypoints, cfg.module_channels, num_keypoints,
                num_blocks=cfg.module_blocks, groups=cfg.module_groups,
            )  # fmt: skip
        init_deterministic(self, seed)
        if self.higher is not None:
            nn.init.normal_(self.higher.final.weight, 0.0, 0.001, generator=torch.Generator().manual_seed(seed))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats_quarter, out_quarter, out_half = self.head(self.backbone(x))
        if self.higher is not None:
            out_half = out_half + self.higher(torch.cat([feats_quarter, out_quarter], dim=1))
        return out_quarter, out_half


def wlitepose(variant: str = "xs", num_keypoints: int = 17, seed: int = 0, dfc: bool = True,
              dfc_stages: Sequence[int] = ALL_STAGES, deconv_module: bool = True) -> WLitePose:  # fmt: skip
    """WLitePose-``variant`` (``"xs"`` or ``"s"``) predicting ``num_keypoints`` joints; the weights depend
    only on ``seed`` and the global RNG is left untouched.

    Ablation switches (paper 004 Table VI; recipe key ``model.args``): ``dfc=False`` keeps LitePose's
    inverted bottlenecks everywhere (Table VI without the DFC-bottleneck), ``dfc_stages`` picks the
    stages that get it (Table VII: ``[1]`` ... ``[4]``, default all four), ``deconv_module=False``
    drops the lightweight deconvolution module. The third switch, the heatmap-weighted loss, is the
    recipe's ``loss.weighted``."""
    if variant not in WLITEPOSE_CFGS:
        raise ValueError(f"WLitePose: unknown variant {variant!r}; known: {', '.join(WLITEPOSE_CFGS)}")
    with torch.random.fork_rng(devices=[]):
        return WLitePose(WLITEPOSE_CFGS[variant], num_keypoints=num_keypoints, seed=seed,
                         dfc_stages=dfc_stages if dfc else (), deconv_module=deconv_module)  # fmt: skip


_NOTES = ("LitePose + DFC-bottleneck (all stages) + lightweight deconv module added to the 1/2 output; "
          "train with the heatmap-weighted loss (tau=0.01). Outputs as LitePose.")  # fmt: skip

register(ModelSpec(name="wlitepose_xs", family="wlitepose", paradigm="bottom-up", keypoints="coco17",
                   input_size=(256, 256), builder=wlitepose, paper="004 Table I (WLitePose-XS)",
                   paper_params=2.3e6, paper_macs=1.5e9, defaults={"variant": "xs"}, notes=_NOTES))  # fmt: skip
register(ModelSpec(name="wlitepose_s", family="wlitepose", paradigm="bottom-up", keypoints="coco17",
                   input_size=(448, 448), builder=wlitepose, paper="004 Table I (WLitePose-S)",
                   paper_params=3.6e6, paper_macs=5.8e9, defaults={"variant": "s"}, notes=_NOTES))  # fmt: skip

__all__ = ["ALL_STAGES", "WLITEPOSE_CFGS", "WLitePose", "WLitePoseCfg", "dfc_bottleneck", "wlitepose"]
