"""The cost counter: hand-computed modules, and the published figures of DESIGN.md."""

import pytest
import torch
from torch import nn

import featherpose
from featherpose.complexity import complexity


def test_conv_and_linear_macs():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    c = complexity(m, (16, 16))
    assert c.params == 3 * 8 * 9 + 8 + 512 * 10 + 10
    assert c.macs == 8 * 8 * 8 * (3 * 9) + 512 * 10


def test_grouped_conv_macs():
    m = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
    assert complexity(m, 10, in_channels=8).macs == 100 * 8 * 9


def test_transposed_conv_counted_over_output_pixels():
    m = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, bias=False)
    c = complexity(m, (6, 5), in_channels=8)
    assert c.macs == (12 * 10) * (8 * 4 * 16)  # output pixels x |weight|
    dw = nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1, groups=8, bias=False)
    assert complexity(dw, (6, 5), in_channels=8).macs == (12 * 10) * (8 * 1 * 16)


def test_counter_keeps_training_mode():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    m.train()
    complexity(m, 8)
    assert m.training


def test_meta_device_counts_match_cpu():
    with torch.device("meta"):
        meta = featherpose.build_model("litepose_xs")
    cpu = featherpose.build_model("litepose_xs")
    assert complexity(meta, (128, 96)) == complexity(cpu, (128, 96))


# Published figures (DESIGN.md, "Counting cost"): params within 2%, MACs as stated there.
PUBLISHED = [
    # name, input, params, macs, macs tolerance
    ("lw_openpose", (368, 368), 4.09e6, 8.9e9, 0.05),
    ("hrnet_w32", (256, 192), 28.5e6, 7.65e9, 0.03),  # counters give ~7.6-7.7 (paper prints 7.1)
    ("litepose_xs", (256, 256), 1.7e6, 1.2e9, 0.10),
    ("litepose_s", (448, 448), 2.7e6, 5.0e9, 0.10),
]


@pytest.mark.parametrize("name, size, params, macs, tol", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_figures(name, size, params, macs, tol):
    with torch.device("meta"):  # exact shapes, no arithmetic: the counts are the same, much faster
        model = featherpose.build_model(name)
    c = complexity(model, size)
    assert c.params == pytest.approx(params, rel=0.02)
    assert c.macs == pytest.approx(macs, rel=tol)

