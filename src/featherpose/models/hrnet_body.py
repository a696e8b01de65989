"""A reusable HRNet body: stem, stage 1, then stages of parallel multi-resolution branches joined by
fusion ("exchange") units, and a 1x1 heatmap head on the highest-resolution branch.

HRNet-W32 (BasicBlock), GADNet (GaBlock + GdBlock down-sampling) and HR-LiteNet (L_block / L_basic)
are the same machinery with different factories plugged in:

* ``block(in_ch, out_ch)`` builds one stride-1 block of a branch (or of stage 1);
* ``down(in_ch, out_ch, act)`` builds one stride-2 step of a down-sampling path (fusion and the new
  branch of a transition); a path of ``n`` steps keeps ``in_ch`` until its last step, as in HRNet;
* ``same_res(in_ch, out_ch)`` changes channels at the same resolution (stage 1 -> stage 2 transition).

The output is ``N x K x H/4 x W/4`` for any input size (fusion resizes to the target branch's size, so
sizes that are not multiples of 32 work too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from featherpose.nn.conv import ConvBNAct
from featherpose.nn.residual import BasicBlock, Bottleneck

BlockFactory = Callable[[int, int], nn.Module]
DownFactory = Callable[[int, int, bool], nn.Module]
SameResFactory = Callable[[int, int], nn.Module]


def conv_down(in_ch: int, out_ch: int, act: bool) -> nn.Module:
    """HRNet's down-sampling step: 3x3 stride-2 conv-BN (+ ReLU)."""
    return ConvBNAct(in_ch, out_ch, 3, 2, act="relu" if act else None)


def conv_same_res(in_ch: int, out_ch: int) -> nn.Module:
    """HRNet's same-resolution transition: 3x3 conv-BN-ReLU."""
    return ConvBNAct(in_ch, out_ch, 3)


@dataclass(frozen=True)
class StageSpec:
    """One row of an HRNet config table: ``num_modules`` exchange units, each with
    ``num_blocks[b]`` blocks on branch ``b`` of width ``channels[b]``."""

    num_modules: int
    num_blocks: tuple[int, ...]
    channels: tuple[int, ...]
    block: BlockFactory = BasicBlock

    @property
    def num_branches(self) -> int:
        return len(self.channels)


@dataclass(frozen=True)
class HRNetSpec:
    """A whole HRNet-style network: stem, stage 1 and the multi-branch stages."""

    stages: tuple[StageSpec, ...]
    stem_channels: int = 64
    stage1_blocks: int = 4
    stage1_channels: int = 256
    stage1_block: BlockFactory = Bottleneck
    down: DownFactory = conv_down
    same_res: SameResFactory = conv_same_res
    extra: dict = field(default_factory=dict)  # free-form notes, ignored by the builder


def down_path(in_ch: int, out_ch: int, steps: int, down: DownFactory, last_act: bool) -> nn.Sequential:
    """``steps`` stride-2 steps; the channel count changes only at the last one (HRNet / GDModule)."""
    layers = [down(in_ch, in_ch, True) for _ in range(steps - 1)]
    layers.append(down(in_ch, out_ch, last_act))
    return nn.Sequential(*layers)


class FuseUnit(nn.Module):
    """Multi-resolution fusion: every output branch ``i`` sums all inputs brought to its size and
    width (1x1 conv-BN + nearest up-sampling from lower resolutions, a down path from higher ones)."""

    def __init__(self, channels: Sequence[int], num_outputs: int, down: DownFactory) -> None:
        super().__init__()
        n = len(channels)
        self.paths = nn.ModuleList()
        for i in range(num_outputs):
            row = nn.ModuleList()
            for j in range(n):
                if j == i:
                    row.append(nn.Identity())
                elif j > i:
                    row.append(ConvBNAct(channels[j], channels[i], 1, act=None))
                else:
                    row.append(down_path(channels[j], channels[i], i - j, down, last_act=False))
            self.paths.append(row)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = []
        for i, row in enumerate(self.paths):
            size = xs[i].shape[-2:]
            y = xs[i]
            for j, path in enumerate(row):
                if j == i:
                    continue
                z = path(xs[j])
                if j > i:
                    z = F.interpolate(z, size=size, mode="nearest")
                y = y + z
            outs.append(self.relu(y))
        return outs


class HighResolutionModule(nn.Module):
    """One exchange unit: parallel branches of blocks, then a fusion unit."""

    def __init__(
        self, in_channels: Sequence[int], stage: StageSpec, multi_scale_output: bool, down: DownFactory
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleList()
        for b, (n_blocks, ch) in enumerate(zip(stage.num_blocks, stage.channels, strict=True)):
            blocks = [stage.block(in_channels[b] if k == 0 else ch, ch) for k in range(n_blocks)]
            self.branches.append(nn.Sequential(*blocks))
        n = stage.num_branches
        self.fuse = FuseUnit(stage.channels, n if multi_scale_output else 1, down) if n > 1 else None

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        return self.fuse(xs) if self.fuse is not None else xs


class Transition(nn.Module):
    """Between stages: adapt existing branches' widths and open new lower-resolution branches from
    the previous stage's lowest-resolution output."""

    def __init__(self, pre: Sequence[int], cur: Sequence[int], spec: HRNetSpec) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for i, ch in enumerate(cur):
            if i < len(pre):
                self.layers.append(nn.Identity() if pre[i] == ch else spec.same_res(pre[i], ch))
            else:
                self.layers.append(down_path(pre[-1], ch, i + 1 - len(pre), spec.down, last_act=True))
        self.num_pre = len(pre)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [layer(xs[min(i, self.num_pre - 1)]) for i, layer in enumerate(self.layers)]


class HRNetPose(nn.Module):
    """HRNet-style top-down pose network; ``forward`` returns ``N x K x H/4 x W/4`` heatmaps."""

    def __init__(self, spec: HRNetSpec, num_keypoints: int = 17) -> None:
        super().__init__()
        self.spec = spec
        c = spec.stem_channels
        self.stem = nn.Sequential(ConvBNAct(3, c, 3, 2), ConvBNAct(c, c, 3, 2))
        s1 = [spec.stage1_block(c if k == 0 else spec.stage1_channels, spec.stage1_channels)
              for k in range(spec.stage1_blocks)]  # fmt: skip
        self.stage1 = nn.Sequential(*s1)
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        pre: tuple[int, ...] = (spec.stage1_channels,)
        for s, stage in enumerate(spec.stages):
            self.transitions.append(Transition(pre, stage.channels, spec))
            last = s == len(spec.stages) - 1
            multi = [not (last and m == stage.num_modules - 1) for m in range(stage.num_modules)]
            modules = [HighResolutionModule(stage.channels, stage, ms, spec.down) for ms in multi]
            self.stages.append(nn.Sequential(*modules))
            pre = stage.channels
        self.head = nn.Conv2d(pre[0], num_keypoints, 1)
        self.num_keypoints = num_keypoints
        init_hrnet_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = [self.stage1(self.stem(x))]
        for transition, stage in zip(self.transitions, self.stages, strict=True):
            xs = stage(transition(xs))
        return self.head(xs[0])


def init_hrnet_weights(model: nn.Module, std: float = 0.001) -> None:
    """HRNet's initialisation: every (transposed) conv ~ N(0, std), biases 0; BN weight 1, bias 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
