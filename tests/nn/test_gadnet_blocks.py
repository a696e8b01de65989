"""GADNet blocks (paper 001): shapes and parameter counts against hand computation."""

import pytest
import torch

from featherpose.complexity import count_params
from featherpose.nn.gadnet_blocks import GaBlock, GaUnit, GdBlock, GDModule


# SE with reduction 16, hidden width rounded to a multiple of 4 (>= 4): fc1 C*h + h, fc2 h*C + C.
def se_params(c: int, h: int) -> int:
    return c * h + h + h * c + c


def test_ga_block_params_and_shape() -> None:
    block = GaBlock(32, 32)
    primary = 9 * 32 * 16 + 2 * 16  # 3x3 conv to 16 intrinsic maps + BN
    cheap = 9 * 16 + 2 * 16  # depthwise 3x3 on the 16 weighted maps + BN
    assert count_params(block) == primary + se_params(16, 4) + cheap == 4964
    x = torch.randn(2, 32, 16, 12)
    assert block(x).shape == x.shape


def test_ga_unit_odd_width_is_cut_to_out_channels() -> None:
    unit = GaUnit(8, 7)
    assert unit(torch.randn(1, 8, 5, 5)).shape == (1, 7, 5, 5)


def test_ga_block_two_units_has_projection_when_width_changes() -> None:
    block = GaBlock(16, 32, units=2)
    unit_in = 9 * 16 * 16 + 32 + se_params(16, 4) + 9 * 16 + 32
    unit_same = 9 * 32 * 16 + 32 + se_params(16, 4) + 9 * 16 + 32
    shortcut = 16 * 32 + 64
    assert count_params(block) == unit_in + unit_same + shortcut
    assert block(torch.randn(1, 16, 6, 6)).shape == (1, 32, 6, 6)


def test_gd_block_params_and_stride() -> None:
    block = GdBlock(32, 256, act=False)
    primary = 9 * 32 * 128 + 2 * 128  # 3x3 s2 conv to 128 intrinsic maps + BN
    cheap = 128 * 1 * 9 + 2 * 128  # grouped 3x3 s2 conv, groups = gcd(32, 128) = 32 + BN
    assert count_params(block) == primary + cheap + se_params(128, 8) == 40712
    assert block(torch.randn(1, 32, 16, 12)).shape == (1, 256, 8, 6)


@pytest.mark.parametrize("size, out_size", [((16, 12), (2, 2)), ((15, 11), (2, 2))])
def test_gd_module_chains_and_changes_width_only_at_the_end(size, out_size) -> None:
    module = GDModule(32, 256, steps=3, last_act=False)
    same = 9 * 32 * 16 + 32 + 16 * 2 * 9 + 32 + se_params(16, 4)  # GdBlock(32, 32): groups = 16
    assert count_params(module) == 2 * same + 40712
    assert [b.primary[0].out_channels for b in module] == [16, 16, 128]
    assert module(torch.randn(1, 32, *size)).shape == (1, 256, *out_size)
