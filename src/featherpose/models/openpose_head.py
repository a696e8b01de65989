"""The Lightweight OpenPose head: CPM adapter, initial stage and refinement stages.

Shared by ``lw_openpose`` (MobileNet-v1 backbone) and ``ghostpose`` (GhostNet backbone, paper 000).
Module and attribute names (``model``, ``cpm.align/trunk/conv``, ``initial_stage.trunk/heatmaps/pafs``,
``refinement_stages.N.trunk.M.initial/trunk``) and the flat ``nn.Sequential`` layouts inside them follow
the public Lightweight OpenPose reference, so its checkpoints load with ``strict=True``.
"""

from __future__ import annotations

import torch
from torch import nn

from featherpose.nn import make_activation

# Inference-time normalisation of the reference implementation: (img - 128) / 256 on a BGR uint8 image.
INPUT_MEAN: tuple[float, float, float] = (128.0, 128.0, 128.0)
INPUT_STD: tuple[float, float, float] = (256.0, 256.0, 256.0)
INPUT_CHANNEL_ORDER = "BGR"


def conv(
    in_ch: int,
    out_ch: int,
    kernel_size: int = 3,
    stride: int = 1,
    dilation: int = 1,
    bn: bool = True,
    act: str | None = "relu",
    bias: bool = True,
) -> nn.Sequential:
    """Flat ``Conv2d [-> BatchNorm2d] [-> act]`` with 'same' padding.

    Unlike :class:`featherpose.nn.ConvBNAct` the convolution keeps its bias next to a BN unless
    ``bias=False`` (the reference refinement blocks do), and no placeholder is added when ``act`` is
    None, so the state-dict indices match the reference's ``conv()`` helper.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel_size, stride, kernel_size // 2 * dilation, dilation, bias=bias)
    ]
    if bn:
        layers.append(nn.BatchNorm2d(out_ch))
    if act is not None:
        layers.append(make_activation(act))
    return nn.Sequential(*layers)


def conv_dw(
    in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1, bn: bool = True, act: str = "relu"
) -> nn.Sequential:
    """Flat depthwise-separable pair: ``dw3x3 [-> BN] -> act -> pw1x1 [-> BN] -> act``, no conv biases.

    ``bn=False, act="elu"`` is the reference's ``conv_dw_no_bn`` used inside the CPM.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, in_ch, 3, stride, dilation, dilation, groups=in_ch, bias=False),
    ]
    if bn:
        layers.append(nn.BatchNorm2d(in_ch))
    layers += [make_activation(act), nn.Conv2d(in_ch, out_ch, 1, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(make_activation(act))
    return nn.Sequential(*layers)


class Cpm(nn.Module):
    """Adapter from backbone channels to the head width: 1x1 align, three DW-separable ELU convs
    (no BN) added back as a residual, then a 3x3 conv."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.align = conv(in_ch, out_ch, kernel_size=1, bn=False)
        self.trunk = nn.Sequential(*(conv_dw(out_ch, out_ch, bn=False, act="elu") for _ in range(3)))
        self.conv = conv(out_ch, out_ch, bn=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.align(x)
        return self.conv(x + self.trunk(x))


def _predictor(in_ch: int, hidden: int, out_ch: int) -> nn.Sequential:
    """1x1 conv + ReLU, then a linear 1x1 conv to ``out_ch`` maps."""
    return nn.Sequential(conv(in_ch, hidden, 1, bn=False), conv(hidden, out_ch, 1, bn=False, act=None))


class InitialStage(nn.Module):
    """Three 3x3 convs (no BN) shared by both branches; heatmap and PAF predictors (1x1, 512 wide)."""

    def __init__(self, channels: int, num_heatmaps: int, num_pafs: int, hidden: int = 512) -> None:
        super().__init__()
        self.trunk = nn.Sequential(*(conv(channels, channels, bn=False) for _ in range(3)))
        self.heatmaps = _predictor(channels, hidden, num_heatmaps)
        self.pafs = _predictor(channels, hidden, num_pafs)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.trunk(x)
        return [self.heatmaps(features), self.pafs(features)]


class RefinementStageBlock(nn.Module):
    """1x1 conv (no BN), then 3x3 conv-BN-ReLU and dilated (2) 3x3 conv-BN-ReLU added as a residual.

    The two trunk convs keep their bias next to the BN, as in the reference.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.initial = conv(in_ch, out_ch, 1, bn=False)
        self.trunk = nn.Sequential(conv(out_ch, out_ch), conv(out_ch, out_ch, dilation=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.initial(x)
        return x + self.trunk(x)


class RefinementStage(nn.Module):
    """Five refinement blocks on ``[features, heatmaps, pafs]``, then 1x1 predictors (head-width)."""

    def __init__(self, in_ch: int, channels: int, num_heatmaps: int, num_pafs: int, num_blocks: int = 5) -> None:
        super().__init__()
        blocks = [RefinementStageBlock(in_ch if i == 0 else channels, channels) for i in range(num_blocks)]
        self.trunk = nn.Sequential(*blocks)
        self.heatmaps = _predictor(channels, channels, num_heatmaps)
        self.pafs = _predictor(channels, channels, num_pafs)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.trunk(x)
        return [self.heatmaps(features), self.pafs(features)]


class OpenPoseNet(nn.Module):
    """Backbone (stride 8) -> CPM -> initial stage -> ``num_refinement_stages`` refinement stages.

    ``forward`` returns every stage's output, ``[heatmaps_0, pafs_0, heatmaps_1, pafs_1, ...]``, all at
    1/8 of the input size; training supervises them all, decoders use the last pair
    (``outputs[-2]``, ``outputs[-1]``). Input: a ``(N, 3, H, W)`` image with H and W divisible by 8,
    normalised as ``(img - input_mean) / input_std`` in ``input_channel_order`` (BGR, 0-255).
    """

    stride = 8
    input_mean = INPUT_MEAN
    input_std = INPUT_STD
    input_channel_order = INPUT_CHANNEL_ORDER

    def __init__(
        self,
        backbone: nn.Module,
        backbone_channels: int,
        num_refinement_stages: int = 1,
        num_channels: int = 128,
        num_heatmaps: int = 19,
        num_pafs: int = 38,
    ) -> None:
        super().__init__()
        if num_refinement_stages < 0:
            raise ValueError(f"num_refinement_stages must be >= 0, got {num_refinement_stages}")
        self.model = backbone
        self.cpm = Cpm(backbone_channels, num_channels)
        self.initial_stage = InitialStage(num_channels, num_heatmaps, num_pafs)
        refine_in = num_channels + num_heatmaps + num_pafs
        self.refinement_stages = nn.ModuleList(
            RefinementStage(refine_in, num_channels, num_heatmaps, num_pafs) for _ in range(num_refinement_stages)
        )
        self.num_heatmaps, self.num_pafs = num_heatmaps, num_pafs

    @property
    def num_stages(self) -> int:
        """Number of (heatmaps, pafs) pairs ``forward`` returns: initial + refinement stages."""
        return 1 + len(self.refinement_stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = self.cpm(self.model(x))
        outputs = self.initial_stage(features)
        for stage in self.refinement_stages:
            outputs.extend(stage(torch.cat([features, outputs[-2], outputs[-1]], dim=1)))
        return outputs
