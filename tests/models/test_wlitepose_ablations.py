"""Paper 004's ablation switches (Table VI / VII) as WLitePose builder arguments."""

from __future__ import annotations

import pytest
import torch

from featherpose.complexity import complexity
from featherpose.models import build_model
from featherpose.models.wlitepose import WLitePose
from featherpose.nn.dfc_bottleneck import DFCBottleneck


def _dfc_per_stage(model: WLitePose) -> list[bool]:
    return [all(isinstance(b, DFCBottleneck) for b in stage) for stage in model.stages]


def test_both_switches_off_is_litepose_exactly() -> None:
    """No DFC-bottleneck and no deconv module: LitePose's network and, for one seed, its weights."""
    w = build_model("wlitepose_xs", num_keypoints=5, dfc=False, deconv_module=False).eval()
    lite = build_model("litepose_xs", num_keypoints=5).eval()
    assert w.higher is None and _dfc_per_stage(w) == [False] * 4
    assert [n for n, _ in w.named_parameters()] == [n for n, _ in lite.named_parameters()]
    for (n, a), b in zip(w.state_dict().items(), lite.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(w(x), lite(x), strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("stages", [[1], [2], [3], [4], [2, 4]])
def test_dfc_stages_place_the_block_stage_by_stage(stages: list[int]) -> None:
    """Table VII: the DFC-bottleneck in one stage (or several), the others keep LitePose's block."""
    with torch.device("meta"):
        w = build_model("wlitepose_xs", dfc_stages=stages, deconv_module=False)
    assert _dfc_per_stage(w) == [i in stages for i in (1, 2, 3, 4)]
    assert w.dfc_stages == tuple(sorted(stages))


def test_deconv_module_switch_keeps_the_output_contract() -> None:
    model = build_model("wlitepose_xs", num_keypoints=3, deconv_module=False).eval()
    with torch.no_grad():
        quarter, half = model(torch.randn(1, 3, 64, 96))
    assert quarter.shape == (1, 6, 16, 24) and half.shape == (1, 3, 32, 48)


def test_each_switch_adds_cost_and_they_add_up() -> None:
    """Measured at 448 with 14 CrowdPose keypoints (Table VI's setting): each part costs something and the
    full model's extra cost is the sum of the two parts' (they touch disjoint layers)."""

    def cost(**kw: object) -> tuple[int, int]:
        with torch.device("meta"):
            c = complexity(build_model("wlitepose_s", num_keypoints=14, **kw), (448, 448))
        return c.params, c.macs

    base = cost(dfc=False, deconv_module=False)
    dfc, deconv, full = cost(deconv_module=False), cost(dfc=False), cost()
    for p, m in (dfc, deconv):
        assert p > base[0] and m > base[1]
    assert full[0] - base[0] == (dfc[0] - base[0]) + (deconv[0] - base[0])
    assert full[1] - base[1] == (dfc[1] - base[1]) + (deconv[1] - base[1])


def test_bad_switches_fail_clearly() -> None:
    with pytest.raises(ValueError, match="dfc_stages must be among"):
        build_model("wlitepose_xs", dfc_stages=[0])
    with pytest.raises(ValueError, match="unknown variant 'm'"):
        build_model("wlitepose_xs", variant="m")
