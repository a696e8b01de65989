"""HRNet-W32, GADNet and HR-LiteNet: shapes, training step, init, and complexity vs the papers.

Paper-size complexity is measured on the meta device (shape propagation only), so it is exact and
takes a fraction of a second per model.
"""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from featherpose.complexity import complexity
from featherpose.models import build_model, get_spec
from featherpose.models.hrnet_body import FuseUnit, HRNetPose, Transition

NAMES = ["hrnet_w32", "hrnet_w32_mpii", "gadnet_w32", "gadnet_w48", "hr_litenet"]
HRNET_W32_MACS_COUNTED = 7.65e9  # what counters give for HRNet-W32 at 256x192 (DESIGN.md)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These nets are many small ops: one intra-op thread is several times faster on a busy 2-core box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@functools.cache
def small_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, num_keypoints=5)


@functools.cache
def paper_complexity(name: str):
    spec = get_spec(name)
    with torch.device("meta"):
        model = spec.build()
    return complexity(model, spec.input_size)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(128, 96), (96, 80)])
def test_heatmaps_at_quarter_resolution_for_any_keypoint_count(name: str, size: tuple[int, int]) -> None:
    model = small_model(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size))
    assert isinstance(out, torch.Tensor)
    assert out.shape == (1, 5, size[0] // 4, size[1] // 4)


@pytest.mark.parametrize("name", NAMES)
def test_default_keypoints_follow_the_spec(name: str) -> None:
    spec = get_spec(name)
    with torch.device("meta"):
        model = spec.build()
    assert model.head.out_channels == spec.keypoint_set.num_keypoints


@pytest.mark.parametrize("name", ["hrnet_w32", "gadnet_w32", "gadnet_w48", "hr_litenet"])
def test_forward_backward_on_cpu(name: str) -> None:
    model = small_model(name).train()
    out = model(torch.randn(2, 3, 64, 48))
    assert out.shape == (2, 5, 16, 12)
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.stem[0][0].weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("name", ["hrnet_w32", "gadnet_w32", "hr_litenet"])
def test_initialisation_is_hrnet_style_and_seeded(name: str) -> None:
    model = small_model(name)
    assert model.head.bias.abs().max() == 0
    assert 0.0005 < model.head.weight.std() < 0.002
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(bool((m.weight == 1).all() and (m.bias == 0).all()) for m in bns)
    torch.manual_seed(0)
    again = build_model(name, num_keypoints=5)
    assert torch.equal(again.head.weight, model.head.weight)


def test_fuse_unit_sums_all_branches_at_each_resolution() -> None:
    from featherpose.models.hrnet_body import conv_down

    fuse = FuseUnit((4, 8, 16), num_outputs=3, down=conv_down)
    xs = [torch.randn(1, 4, 12, 10), torch.randn(1, 8, 6, 5), torch.randn(1, 16, 3, 3)]
    outs = fuse(xs)
    assert [o.shape for o in outs] == [x.shape for x in xs]
    assert len(fuse.paths[2][0]) == 2  # two stride-2 steps from branch 0 to branch 2
    assert fuse.paths[2][0][0][0].out_channels == 4  # width changes only at the last step
    assert len(FuseUnit((4, 8), num_outputs=1, down=conv_down)([xs[0], xs[1]])) == 1


def test_transition_opens_a_branch_from_the_lowest_resolution() -> None:
    from featherpose.models.hrnet import hrnet_spec

    t = Transition((32, 64), (32, 64, 128), hrnet_spec(32))
    outs = t([torch.randn(1, 32, 16, 12), torch.randn(1, 64, 8, 6)])
    assert [tuple(o.shape) for o in outs] == [(1, 32, 16, 12), (1, 64, 8, 6), (1, 128, 4, 3)]


def test_hrnet_body_is_shared_by_the_three_families() -> None:
    for name in ["hrnet_w32", "gadnet_w32", "hr_litenet"]:
        assert isinstance(small_model(name), HRNetPose)


# ---- complexity vs the papers ---------------------------------------------------------------


def test_hrnet_w32_complexity() -> None:
    c = paper_complexity("hrnet_w32")
    assert abs(c.params / 28.5e6 - 1) < 0.05
    assert abs(c.macs / HRNET_W32_MACS_COUNTED - 1) < 0.10


def test_hrnet_w32_mpii_complexity() -> None:
    c = paper_complexity("hrnet_w32_mpii")
    assert abs(c.params / 28.5e6 - 1) < 0.05
    assert abs(c.macs / get_spec("hrnet_w32_mpii").paper_macs - 1) < 0.10  # 9.5 x 2^30 (docs/models.md)


def test_hr_litenet_complexity() -> None:
    c = paper_complexity("hr_litenet")
    assert abs(c.params / 1.92e6 - 1) < 0.05
    assert abs(c.macs / get_spec("hr_litenet").paper_macs - 1) < 0.10  # 1.46 x 2^30, gap -9.5%


def test_gadnet_w32_reductions_vs_hrnet_w32() -> None:
    g, h = paper_complexity("gadnet_w32"), paper_complexity("hrnet_w32")
    assert abs(100 * (1 - g.params / h.params) - 60.7) < 5
    assert abs(100 * (1 - g.macs / h.macs) - 61.2) < 5


def test_gadnet_w48_is_wider_but_still_lighter_than_hrnet_w32() -> None:
    g32, g48, h = (paper_complexity(n) for n in ("gadnet_w32", "gadnet_w48", "hrnet_w32"))
    # widths x1.5: branch convs scale ~x2.25, so W48 sits between W32 and HRNet-W32
    assert g32.params < g48.params < h.params
    assert g32.macs < g48.macs < h.macs
