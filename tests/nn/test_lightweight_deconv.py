"""Lightweight deconvolution module and its residual block (paper 004, Figs. 2-3)."""

from __future__ import annotations

import pytest
import torch

from featherpose.complexity import complexity
from featherpose.nn.lightweight_deconv import LightweightDeconvModule, LightweightResidual, channel_shuffle


def test_channel_shuffle_interleaves_groups() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_residual_block_parameter_count_by_hand() -> None:
    block = LightweightResidual(48, groups=3)
    gconv = 48 * 48 // 3 + 2 * 48  # 1x1 group conv (3 groups) + BN
    dw = 48 * 9 + 2 * 48
    assert sum(p.numel() for p in block.parameters()) == 2 * gconv + dw == 2256


def test_residual_block_rejects_indivisible_width() -> None:
    with pytest.raises(ValueError, match="multiple of groups"):
        LightweightResidual(32, groups=3)


def test_residual_block_is_relu_of_input_when_branch_is_off() -> None:
    block = LightweightResidual(12).eval()
    torch.nn.init.zeros_(block.gconv2[1].weight)  # last BN scale 0 -> branch outputs 0
    x = torch.randn(2, 12, 5, 7)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_module_parameters_and_macs_by_hand() -> None:
    module = LightweightDeconvModule(58, 48, out_maps=17, num_blocks=4, groups=3)
    up = 58 * 16 + 2 * 58 + 58 * 48 + 2 * 48  # DW 4x4 transposed + BN, pointwise + BN
    assert sum(p.numel() for p in module.parameters()) == up + 4 * 2256 + 48 * 17 == 13764
    out_px = 16 * 16  # 8x8 input -> 16x16; transposed conv counted over output pixels
    macs = (58 * 16 + 58 * 48 + 4 * (2 * 48 * 16 + 48 * 9) + 48 * 17) * out_px
    assert complexity(module, 8, in_channels=58).macs == macs == 3174400


@pytest.mark.parametrize(("in_ch", "out_maps", "size"), [(58, 17, (8, 8)), (52, 14, (6, 10)), (34, 5, (3, 5))])
def test_module_doubles_resolution(in_ch: int, out_maps: int, size: tuple[int, int]) -> None:
    module = LightweightDeconvModule(in_ch, 36, out_maps)
    y = module(torch.randn(2, in_ch, *size))
    assert y.shape == (2, out_maps, 2 * size[0], 2 * size[1])
