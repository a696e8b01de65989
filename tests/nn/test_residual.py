"""HRNet's BasicBlock and Bottleneck: shapes and parameter counts against hand computation."""

import torch

from featherpose.complexity import count_params
from featherpose.nn.residual import BasicBlock, Bottleneck


def test_basic_block_identity_params_and_shape() -> None:
    block = BasicBlock(32, 32)
    # two 3x3 convs (no bias) + two BNs (weight + bias)
    assert count_params(block) == 2 * (9 * 32 * 32 + 2 * 32)
    assert block(torch.randn(1, 32, 12, 10)).shape == (1, 32, 12, 10)


def test_basic_block_projection_params() -> None:
    block = BasicBlock(32, 64)
    expected = (9 * 32 * 64 + 128) + (9 * 64 * 64 + 128) + (32 * 64 + 128)  # conv1, conv2, 1x1 shortcut
    assert count_params(block) == expected
    assert block(torch.randn(2, 32, 8, 6)).shape == (2, 64, 8, 6)


def test_bottleneck_matches_hrnet_layer1_first_block() -> None:
    block = Bottleneck(64, 256)
    expected = (64 * 64 + 128) + (9 * 64 * 64 + 128) + (64 * 256 + 512) + (64 * 256 + 512)
    assert count_params(block) == expected == 75008
    assert block(torch.randn(1, 64, 8, 6)).shape == (1, 256, 8, 6)
