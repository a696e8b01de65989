"""DFC-bottleneck block (paper 004, Fig. 5): shapes, hand-counted parameters and MACs, residual."""

from __future__ import annotations

import pytest
import torch

from featherpose.complexity import complexity
from featherpose.nn.dfc_bottleneck import DFCBottleneck


def test_default_layout_parameter_count_by_hand() -> None:
    block = DFCBottleneck(16, 16, stride=1, expand_ratio=6, kernel_size=7)
    hidden = 96
    expand = 16 * hidden
    dw = hidden * 7 * 7
    dfc = 16 * hidden + 2 * hidden + 2 * (hidden * 5 + 2 * hidden)  # 1x1 + BN, DW 1x5 + BN, DW 5x1 + BN
    norm = 2 * hidden
    project = hidden * 16 + 16  # with bias
    assert sum(p.numel() for p in block.parameters()) == expand + dw + dfc + norm + project == 11056


def test_default_layout_macs_by_hand() -> None:
    block = DFCBottleneck(16, 16)
    px, pooled = 16 * 16, 8 * 8
    macs = 16 * 96 * px + 96 * 49 * px + (16 * 96 + 2 * 96 * 5) * pooled + 96 * 16 * px
    assert complexity(block, 16, in_channels=16).macs == macs == 2150400


def test_dw_first_layout_parameter_count_by_hand() -> None:
    block = DFCBottleneck(16, 24, stride=2, dw_first=True)
    dw = 16 * 49
    dfc = 16 * 16 + 32 + 2 * (16 * 5 + 32)
    norm = 32
    expand = 16 * 96
    project = 96 * 24 + 24
    assert sum(p.numel() for p in block.parameters()) == dw + dfc + norm + expand + project == 5192


@pytest.mark.parametrize("dw_first", [False, True])
@pytest.mark.parametrize(("in_ch", "out_ch", "stride", "size"), [(16, 16, 1, (12, 20)), (16, 32, 2, (16, 24))])
def test_output_shape(dw_first: bool, in_ch: int, out_ch: int, stride: int, size: tuple[int, int]) -> None:
    block = DFCBottleneck(in_ch, out_ch, stride=stride, dw_first=dw_first)
    y = block(torch.randn(2, in_ch, *size))
    assert y.shape == (2, out_ch, size[0] // stride, size[1] // stride)
    assert block.use_residual == (stride == 1 and in_ch == out_ch)


def test_residual_is_identity_when_projection_is_zero() -> None:
    block = DFCBottleneck(8, 8).eval()
    torch.nn.init.zeros_(block.project.weight)
    torch.nn.init.zeros_(block.project.bias)
    x = torch.randn(1, 8, 10, 10)
    torch.testing.assert_close(block(x), x)


def test_gate_modulates_the_depthwise_branch() -> None:
    """The DFC gate multiplies the depthwise output: a saturated-closed gate silences the block."""
    block = DFCBottleneck(8, 16).eval()
    torch.nn.init.zeros_(block.project.bias)
    x = torch.randn(1, 8, 10, 10)
    assert block(x).abs().sum() > 0
    last_bn = block.attention.convs[-1][1]
    torch.nn.init.zeros_(last_bn.weight)
    torch.nn.init.constant_(last_bn.bias, -1e4)  # sigmoid -> 0
    assert torch.allclose(block(x), torch.zeros(1, 16, 10, 10), atol=1e-6)
