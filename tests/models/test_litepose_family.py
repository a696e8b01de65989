"""LitePose and WLitePose (paper 004): output contract, gradients, init, and paper complexity."""

from __future__ import annotations

import pytest
import torch

from featherpose.complexity import complexity
from featherpose.models import build_model, get_spec
from featherpose.models.litepose import LitePose
from featherpose.models.wlitepose import WLitePose

NAMES = ["litepose_xs", "litepose_s", "wlitepose_xs", "wlitepose_s"]


# Each family sees both odd keypoint counts and both input shapes (one forward per model keeps it fast).
@pytest.mark.parametrize(
    ("name", "k", "size"),
    [
        ("litepose_xs", 5, (128, 128)),
        ("litepose_s", 14, (128, 192)),
        ("wlitepose_xs", 14, (128, 192)),
        ("wlitepose_s", 5, (128, 128)),
    ],
)
def test_output_contract(name: str, k: int, size: tuple[int, int]) -> None:
    model = build_model(name, num_keypoints=k).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, *size))
    assert isinstance(out, tuple) and len(out) == 2
    quarter, half = out
    h, w = size
    assert quarter.shape == (1, 2 * k, h // 4, w // 4)  # K heatmaps then K tag maps
    assert half.shape == (1, k, h // 2, w // 2)
    assert torch.isfinite(quarter).all() and torch.isfinite(half).all()


def test_default_is_coco17() -> None:
    for name in ("litepose_xs", "wlitepose_xs"):
        assert get_spec(name).keypoint_set.num_keypoints == 17
        model = build_model(name)
        assert model.num_keypoints == 17


@pytest.mark.parametrize("name", ["litepose_xs", "wlitepose_xs"])
def test_forward_backward(name: str) -> None:
    model = build_model(name, num_keypoints=5).train()
    quarter, half = model(torch.randn(1, 3, 64, 64))
    (quarter.square().mean() + half.square().mean()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reached {missing[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_wlitepose_half_output_includes_the_deconv_module() -> None:
    model = build_model("wlitepose_xs", num_keypoints=5).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = model(x)[1].clone()
        torch.nn.init.normal_(model.higher.final.weight, 0.0, 1.0)
        after_h = model(x)[1]
    assert model.higher.in_channels == model.quarter_channels + 2 * 5
    assert not torch.allclose(before, after_h)


def test_wlitepose_uses_dfc_bottlenecks_everywhere() -> None:
    from featherpose.nn.dfc_bottleneck import DFCBottleneck
    from featherpose.nn.inverted_residual import InvertedResidual

    w = build_model("wlitepose_xs")
    blocks = [b for stage in w.stages for b in stage]
    assert len(blocks) == 34 and all(isinstance(b, DFCBottleneck) for b in blocks)
    lite = build_model("litepose_xs")
    assert all(isinstance(b, InvertedResidual) for stage in lite.stages for b in stage)
    assert isinstance(w, WLitePose) and isinstance(lite, LitePose)


def test_init_is_deterministic_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = build_model("wlitepose_xs", num_keypoints=5).state_dict()
    assert torch.equal(torch.get_rng_state(), state)
    b = build_model("wlitepose_xs", num_keypoints=5).state_dict()
    c = build_model("wlitepose_xs", num_keypoints=5, seed=1).state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not all(torch.equal(a[key], c[key]) for key in a)


@pytest.mark.parametrize("name", NAMES)
def test_complexity_matches_paper_within_10_percent(name: str) -> None:
    spec = get_spec(name)
    # On the meta device the counter sees the same shapes and ops without computing anything (~2 s
    # instead of ~20 s on a busy CPU); the counts are identical to a CPU run.
    cost = complexity(spec.build().to("meta"), spec.input_size)
    assert cost.params == pytest.approx(spec.paper_params, rel=0.10)
    assert cost.macs == pytest.approx(spec.paper_macs, rel=0.10)


def test_litepose_matches_reference_architecture_exactly() -> None:
    """Parameter counts of the reference LitePose-XS / -S at 17 joints (searched configs)."""
    assert sum(p.numel() for p in build_model("litepose_xs").parameters()) == 1_675_912
    assert sum(p.numel() for p in build_model("litepose_s").parameters()) == 2_731_624
