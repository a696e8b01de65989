"""Parameter and multiply-accumulate (MAC) counting, built on ``torch.utils.flop_counter``.

Convention (DESIGN.md, "Counting cost"): one MAC = one multiply-add, i.e. half of
``FlopCounterMode``'s FLOPs; only convolutions and matrix products are counted (BN, activations
and element-wise attention products are free, as in every pose paper's table); a transposed
convolution is counted over its *output* pixels, the convention that reproduces LitePose's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

aten = torch.ops.aten


@dataclass(frozen=True)
class Complexity:
    """Parameters and MACs of a model at one input size (batch 1)."""

    params: int
    macs: int
    input_size: tuple[int, int]

    @property
    def mparams(self) -> float:
        return self.params / 1e6

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9


def _conv_flop(x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, *args, out_shape=None, **kw):
    if transposed:
        # Weight is (C_in, C_out / groups, kh, kw). torch counts |weight| MACs per *input* pixel (the
        # true cost); the published convention counts them per *output* pixel (stride^2 times more).
        return 2 * x_shape[0] * prod(out_shape[2:]) * prod(w_shape)
    return conv_flop_count(x_shape, w_shape, out_shape, transposed=False)


_CUSTOM = {
    aten.convolution: _conv_flop,
    aten._convolution: _conv_flop,
}


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all of them, or only those that require gradients)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: tuple[int, int] | int, in_channels: int = 3) -> int:
    """Multiply-accumulates of one forward pass on a ``1 x C x H x W`` zero input."""
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(1, in_channels, h, w, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_CUSTOM) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


def complexity(model: nn.Module, input_size: tuple[int, int] | int, in_channels: int = 3) -> Complexity:
    """Parameters and MACs of ``model`` at ``input_size`` = (H, W) or a square side."""
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    return Complexity(params=count_params(model), macs=count_macs(model, size, in_channels), input_size=size)
