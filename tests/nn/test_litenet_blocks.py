"""HR-LiteNet blocks (paper 003): shapes and parameter counts against hand computation."""

import torch

from featherpose.complexity import count_params
from featherpose.nn.litenet_blocks import LBasic, LBlock


def cbam_params(c: int, reduction: int = 16) -> int:
    return 2 * c * (c // reduction) + 2 * 7 * 7  # shared MLP (no bias) + 7x7 spatial conv


def dws_params(cin: int, cout: int) -> int:
    return 9 * cin + 2 * cin + cin * cout + 2 * cout  # depthwise + BN + pointwise + BN


def test_l_block_expanding_form() -> None:
    block = LBlock(64, 256)
    left = 64 * 256 + 512  # 1x1 projection + BN
    reduce = 64 * 64 + 128 + dws_params(64, 64)  # 1x1 to mid = 64, then DW-separable
    conv_part = 64 * 128 + 256  # 1x1 to half of the output
    ghost = (64 * 64 + 128) + (9 * 64 + 128)  # Ghost module 64 -> 128: primary 1x1 to 64, DW 3x3
    assert count_params(block) == left + reduce + conv_part + ghost + cbam_params(256) == 47714
    assert block(torch.randn(2, 64, 8, 6)).shape == (2, 256, 8, 6)


def test_l_block_equal_channels_form() -> None:
    block = LBlock(256, 256)
    assert isinstance(block.left, torch.nn.Identity) and block.conv_part is None
    reduce = 256 * 64 + 128 + dws_params(64, 64)
    ghost = (64 * 128 + 256) + (9 * 128 + 256)  # Ghost module 64 -> 256
    assert count_params(block) == reduce + ghost + cbam_params(256) == 39586
    assert block(torch.randn(1, 256, 5, 7)).shape == (1, 256, 5, 7)


def test_l_basic_params_and_residual_sum() -> None:
    block = LBasic(32, 32)
    assert count_params(block) == 2 * dws_params(32, 32) + cbam_params(32) == 3106
    x = torch.randn(1, 32, 9, 7)
    assert block(x).shape == x.shape


def test_l_basic_with_zeroed_convs_is_relu_of_x_plus_cbam() -> None:
    block = LBasic(8, 8, cbam_reduction=4).eval()
    torch.nn.init.zeros_(block.convs[1][1][1].weight)  # last BN scale 0 -> middle branch is 0
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        assert torch.allclose(block(x), torch.relu(x + block.cbam(x)))
