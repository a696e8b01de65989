"""A top-down heatmap network: encoder (backbone) -> decoder/head -> K heatmaps at 1/4 of the input."""

from __future__ import annotations

import torch
from torch import nn


class EncoderDecoder(nn.Module):
    """``head(backbone(x))``: N x 3 x H x W -> N x K x H/4 x W/4.

    ``stride`` is the backbone's output stride: H and W must be multiples of it (for the
    heatmaps to be exactly H/4 x W/4); other sizes raise ``ValueError`` (not checked while
    tracing or compiling, where shapes are symbolic).
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, stride: int, num_keypoints: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.stride = stride
        self.num_keypoints = num_keypoints

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            h, w = x.shape[-2:]
            if h % self.stride or w % self.stride:
                raise ValueError(
                    f"input {h}x{w}: height and width must be multiples of {self.stride} "
                    f"(the encoder's output stride) for heatmaps at exactly 1/4 of the input"
                )
        return self.head(self.backbone(x))
