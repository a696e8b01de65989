"""MobilePoseNet's lightweight upsampling block (paper 002, Eqs. 3-5) against hand computations."""

import pytest
import torch

from featherpose.complexity import complexity, count_params
from featherpose.nn.lpb import LPB, LightweightUpsample


def lpb_params(c_in, c_exp, c_out, k=4, hidden=None):
    weights = c_exp * (k * k + c_in + c_out)  # the paper's Eq. 4
    bn = 2 * (c_exp + c_exp + c_out)  # after expand, depthwise deconv, project
    hidden = hidden or c_out // 16
    se = c_out * hidden + hidden + hidden * c_out + c_out  # two biased 1x1 convs
    return weights + bn + se


def test_lpb_parameter_count_by_hand():
    # Table 1's LPB: 160 -> exp 320 -> 160: 107,520 weights + 1,600 BN + 3,370 SE = 112,490.
    m = LightweightUpsample(160, 160, 320)
    assert count_params(m) == lpb_params(160, 320, 160) == 112_490
    assert count_params(LPB(24, 40, 48, se_reduction=16)) == lpb_params(24, 48, 40, hidden=2)


@pytest.mark.parametrize("hw", [(4, 3), (5, 7)])
def test_lpb_doubles_resolution(hw):
    m = LightweightUpsample(16, 8, 32)
    y = m(torch.randn(2, 16, *hw))
    assert y.shape == (2, 8, 2 * hw[0], 2 * hw[1])


def test_lpb_macs_match_equation_3():
    c_in, c_exp, c_out, h, w = 16, 32, 24, 6, 5
    m = LightweightUpsample(c_in, c_out, c_exp)
    macs = complexity(m, (h, w), in_channels=c_in).macs
    h2, w2 = 2 * h, 2 * w
    eq3 = c_exp * (c_in * h * w + h2 * w2 * 4 * 4 + c_out * h2 * w2)  # deconv over output pixels
    se_fc = 2 * c_out * (c_out // 16)
    assert macs == eq3 + se_fc


def test_lpb_output_is_x_plus_x_times_attention():
    torch.manual_seed(0)
    m = LightweightUpsample(8, 16, 16).eval()
    x = torch.randn(1, 8, 3, 3)
    xp = m.project(m.upsample(m.expand(x)))
    att = m.se.attention(xp)
    assert att.shape == (1, 16, 1, 1)
    torch.testing.assert_close(m(x), xp + xp * att)
    assert not torch.allclose(m(x), xp * att)  # the residual term is present
