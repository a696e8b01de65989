"""Output shapes and parameter counts of the shared blocks, against hand computations."""

import pytest
import torch

from featherpose.complexity import count_params
from featherpose.nn import (
    CBAM,
    ConvBNAct,
    DepthwiseDeconvUp,
    DepthwiseSeparable,
    DFCAttention,
    GhostBottleneck,
    GhostModule,
    InvertedResidual,
    SqueezeExcite,
    make_divisible,
)


def bn(c):  # BatchNorm: weight + bias
    return 2 * c


def se(c, h):  # two biased 1x1 convs
    return c * h + h + h * c + c


def run(block, c, h=15, w=11):
    x = torch.randn(2, c, h, w)
    return block(x)


def test_make_divisible():
    assert make_divisible(37, 8) == 40 and make_divisible(33, 8) == 32 and make_divisible(3, 8) == 8
    assert make_divisible(20, 16) == 32  # 16 would drop below 90% of 20


def test_conv_bn_act():
    m = ConvBNAct(16, 32, 3, stride=2)
    assert count_params(m) == 16 * 32 * 9 + bn(32)
    assert run(m, 16).shape == (2, 32, 8, 6)
    assert count_params(ConvBNAct(16, 32, 1, bn=False, act=None)) == 16 * 32 + 32
    with pytest.raises(ValueError, match="unknown activation"):
        ConvBNAct(1, 1, act="swishy")


def test_depthwise_separable():
    m = DepthwiseSeparable(16, 24, 3, stride=2)
    assert count_params(m) == 16 * 9 + bn(16) + 16 * 24 + bn(24)
    assert run(m, 16).shape == (2, 24, 8, 6)


@pytest.mark.parametrize("gate", ["sigmoid", "hsigmoid"])
def test_squeeze_excite(gate):
    m = SqueezeExcite(32, reduction=4, gate=gate)
    assert count_params(m) == se(32, 8)
    x = torch.randn(2, 32, 5, 5)
    att = m.attention(x)
    assert att.shape == (2, 32, 1, 1) and att.min() >= 0 and att.max() <= 1
    assert torch.allclose(m(x), x * att)


def test_cbam():
    m = CBAM(32, reduction=8, spatial_kernel=7)
    assert count_params(m) == 32 * 4 + 4 * 32 + 2 * 49
    assert run(m, 32).shape == (2, 32, 15, 11)


def test_ghost_module():
    m = GhostModule(16, 30, ratio=2, dw_size=3)  # primary 16->15, cheap 15->15 depthwise
    assert count_params(m) == 16 * 15 + bn(15) + 15 * 9 + bn(15)
    assert run(m, 16).shape == (2, 30, 15, 11)


def test_ghost_bottleneck():
    m = GhostBottleneck(16, 48, 24, dw_kernel_size=3, stride=2, se_ratio=0.25)
    g1 = 16 * 24 + bn(24) + 24 * 9 + bn(24)
    dw = 48 * 9 + bn(48)
    s = se(48, 12)
    g2 = 48 * 12 + bn(12) + 12 * 9 + bn(12)
    sc = 16 * 9 + bn(16) + 16 * 24 + bn(24)
    assert count_params(m) == g1 + dw + s + g2 + sc
    assert run(m, 16).shape == (2, 24, 8, 6)
    ident = GhostBottleneck(16, 32, 16)
    assert isinstance(ident.shortcut, torch.nn.Identity)


def test_inverted_residual_v2_and_v3():
    v2 = InvertedResidual(16, 16, 1, expand_ratio=6)
    assert count_params(v2) == 16 * 96 + bn(96) + 96 * 9 + bn(96) + 96 * 16 + bn(16)
    x = torch.randn(1, 16, 8, 8)
    assert v2.use_residual and v2(x).shape == x.shape
    v3 = InvertedResidual(16, 24, 2, hidden=72, kernel_size=5, act="hswish", se=True)
    assert count_params(v3) == 16 * 72 + bn(72) + 72 * 25 + bn(72) + se(72, 24) + 72 * 24 + bn(24)
    assert v3(x).shape == (1, 24, 4, 4)
    first = InvertedResidual(16, 16, 1, hidden=16)  # no expansion conv when hidden == in
    assert count_params(first) == 16 * 9 + bn(16) + 16 * 16 + bn(16)


def test_dfc_attention():
    m = DFCAttention(16, 32)
    assert count_params(m) == 16 * 32 + bn(32) + 32 * 5 + bn(32) + 32 * 5 + bn(32)
    gate = run(m, 16, 15, 11)
    assert gate.shape == (2, 32, 15, 11) and gate.min() >= 0 and gate.max() <= 1


def test_depthwise_deconv_up():
    m = DepthwiseDeconvUp(16, 8)
    assert count_params(m) == 16 * 16 + bn(16) + 16 * 8 + bn(8)
    assert run(m, 16, 7, 5).shape == (2, 8, 14, 10)
    assert DepthwiseDeconvUp(16, kernel_size=3)(torch.randn(1, 16, 7, 5)).shape == (1, 16, 14, 10)
