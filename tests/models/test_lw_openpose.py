"""Lightweight OpenPose: outputs, cost against the published figures, and loading the public
reference checkpoint layout (checkpoint_iter_370000.pth) with strict=True."""

from __future__ import annotations

import pytest
import torch

from featherpose import build_model, complexity, get_spec
from featherpose.models.lw_openpose import load_reference_checkpoint, lw_openpose
from featherpose.models.openpose_checkpoint import CheckpointMismatchError

# --- The reference layout, written from the public reference's structure (models/with_mobilenet.py and
# modules/conv.py of Daniil-Osokin/lightweight-human-pose-estimation.pytorch), not from our model:
#   conv(...)          = Sequential(Conv2d(bias=True unless bias=False), [BatchNorm2d], [ReLU])
#   conv_dw(...)       = Sequential(dw Conv2d, BN, ReLU, pw Conv2d, BN, ReLU), convs without bias
#   conv_dw_no_bn(...) = Sequential(dw Conv2d, ELU, pw Conv2d, ELU), convs without bias
REF_DW = [(32, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512)] + [(512, 512)] * 5


def reference_layout(num_refinement_stages: int = 1, counters: bool = True) -> dict[str, tuple[int, ...]]:
    """Key -> shape of ``PoseEstimationWithMobileNet(num_refinement_stages).state_dict()``."""
    keys: dict[str, tuple[int, ...]] = {}

    def conv(prefix: str, cin: int, cout: int, k: int, bias: bool, groups: int = 1) -> None:
        keys[f"{prefix}.weight"] = (cout, cin // groups, k, k)
        if bias:
            keys[f"{prefix}.bias"] = (cout,)

    def bn(prefix: str, c: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{prefix}.{name}"] = (c,)
        if counters:
            keys[f"{prefix}.num_batches_tracked"] = ()

    conv("model.0.0", 3, 32, 3, bias=False)  # conv(3, 32, stride=2, bias=False)
    bn("model.0.1", 32)
    for i, (cin, cout) in enumerate(REF_DW, start=1):  # conv_dw
        conv(f"model.{i}.0", cin, cin, 3, bias=False, groups=cin)
        bn(f"model.{i}.1", cin)
        conv(f"model.{i}.3", cin, cout, 1, bias=False)
        bn(f"model.{i}.4", cout)
    conv("cpm.align.0", 512, 128, 1, bias=True)
    for j in range(3):  # conv_dw_no_bn
        conv(f"cpm.trunk.{j}.0", 128, 128, 3, bias=False, groups=128)
        conv(f"cpm.trunk.{j}.2", 128, 128, 1, bias=False)
    conv("cpm.conv.0", 128, 128, 3, bias=True)
    for j in range(3):
        conv(f"initial_stage.trunk.{j}.0", 128, 128, 3, bias=True)
    for branch, n in (("heatmaps", 19), ("pafs", 38)):
        conv(f"initial_stage.{branch}.0.0", 128, 512, 1, bias=True)
        conv(f"initial_stage.{branch}.1.0", 512, n, 1, bias=True)
    for s in range(num_refinement_stages):
        p = f"refinement_stages.{s}"
        for b in range(5):
            conv(f"{p}.trunk.{b}.initial.0", 128 + 19 + 38 if b == 0 else 128, 128, 1, bias=True)
            for t in range(2):  # conv(128, 128) with bias *and* BN
                conv(f"{p}.trunk.{b}.trunk.{t}.0", 128, 128, 3, bias=True)
                bn(f"{p}.trunk.{b}.trunk.{t}.1", 128)
        for branch, n in (("heatmaps", 19), ("pafs", 38)):
            conv(f"{p}.{branch}.0.0", 128, 128, 1, bias=True)
            conv(f"{p}.{branch}.1.0", 128, n, 1, bias=True)
    return keys


def random_state(layout: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(370000)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = torch.randn(shape, generator=g)
    return state


def learnable(layout: dict[str, tuple[int, ...]]) -> int:
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    return sum(torch.Size(s).numel() for k, s in layout.items() if not k.endswith(buffers))


# --- cost -------------------------------------------------------------------------------------------


def test_params_and_macs_match_published_figures():
    model = build_model("lw_openpose")
    # Every feature map at 184x184 has exactly a quarter of the pixels it has at 368x368 (184 / 8 = 23 is
    # whole), so conv MACs at 368 are exactly 4x those at 184; counting at 184 keeps the test fast.
    c = complexity(model, (184, 184))
    assert c.params == learnable(reference_layout(1))  # same parameter count as the reference layout
    assert abs(c.params / 4.09e6 - 1) < 0.01
    assert abs(4 * c.macs / 8.9e9 - 1) < 0.05
    spec = get_spec("lw_openpose")
    assert spec.paper_params == 4.09e6 and spec.input_size == (368, 368)


# --- outputs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stages", [0, 1, 2])
def test_output_pairs_per_stage(stages):
    model = lw_openpose(num_refinement_stages=stages).eval()
    assert model.num_stages == 1 + stages
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))  # non-square, divisible by 8
    assert len(out) == 2 * model.num_stages
    for heatmaps, pafs in zip(out[0::2], out[1::2], strict=True):
        assert heatmaps.shape == (1, 19, 8, 12)
        assert pafs.shape == (1, 38, 8, 12)


def test_custom_keypoints_and_input_convention():
    model = lw_openpose(num_refinement_stages=0, num_keypoints=16, num_limbs=14).eval()
    with torch.no_grad():
        heatmaps, pafs = model(torch.zeros(1, 3, 40, 24))
    assert heatmaps.shape == (1, 17, 5, 3) and pafs.shape == (1, 28, 5, 3)
    assert model.stride == 8
    assert model.input_mean == (128.0, 128.0, 128.0) and model.input_std == (256.0, 256.0, 256.0)
    assert model.input_channel_order == "BGR"


def test_forward_backward_cpu():
    model = lw_openpose(num_refinement_stages=1).train()
    out = model(torch.randn(1, 3, 128, 128))
    loss = sum((o**2).mean() for o in out)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.model[0][0].weight.grad.abs().sum() > 0  # gradient reaches the first backbone conv


def test_rejects_negative_stage_count():
    with pytest.raises(ValueError, match="num_refinement_stages"):
        lw_openpose(num_refinement_stages=-1)


# --- reference checkpoint -----------------------------------------------------------------------------


@pytest.mark.parametrize("stages", [1, 2])
def test_reference_layout_matches_exactly(stages):
    ours = {k: tuple(v.shape) for k, v in lw_openpose(num_refinement_stages=stages).state_dict().items()}
    assert ours == reference_layout(stages)


@pytest.mark.parametrize("counters", [True, False])
def test_reference_checkpoint_file_loads_strict(tmp_path, counters):
    state = random_state(reference_layout(1, counters=counters))
    path = tmp_path / "checkpoint_iter_370000.pth"
    # The reference's training loop saves this dict; everything in it is weights_only-safe.
    torch.save({"state_dict": state, "optimizer": {"state": {}, "param_groups": []}, "iter": 370000}, path)
    model = load_reference_checkpoint(lw_openpose(), path)
    loaded = model.state_dict()
    for key in ("model.0.0.weight", "cpm.trunk.2.2.weight", "refinement_stages.0.pafs.1.0.bias",
                "refinement_stages.0.trunk.4.trunk.1.1.running_var"):  # fmt: skip
        assert torch.equal(loaded[key], state[key])


def test_reference_state_dict_with_dataparallel_prefix_loads():
    state = {f"module.{k}": v for k, v in random_state(reference_layout(1)).items()}
    model = load_reference_checkpoint(lw_openpose(), state)
    assert torch.equal(model.state_dict()["cpm.align.0.weight"], state["module.cpm.align.0.weight"])


def test_loaded_model_matches_manual_load():
    state = random_state(reference_layout(1), seed=3)
    a = load_reference_checkpoint(lw_openpose(), state).state_dict()
    b = lw_openpose()
    b.load_state_dict(state, strict=True)
    assert a.keys() == b.state_dict().keys()
    assert all(torch.equal(a[k], v) for k, v in b.state_dict().items())


def test_wrong_shape_gives_one_line_error_naming_file_and_key(tmp_path):
    state = random_state(reference_layout(1))
    state["cpm.align.0.weight"] = torch.zeros(128, 256, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointMismatchError) as err:
        load_reference_checkpoint(lw_openpose(), path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert "cpm.align.0.weight (128, 256, 1, 1) != (128, 512, 1, 1)" in msg


def test_missing_and_unexpected_keys_are_named():
    state = random_state(reference_layout(1))
    del state["initial_stage.heatmaps.1.0.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"1 missing key\(s\): initial_stage\.heatmaps\.1\.0\.bias") as err:
        load_reference_checkpoint(lw_openpose(), state)
    assert "1 unexpected key(s): extra.weight" in str(err.value)


def test_stage_count_mismatch_is_reported():
    state = random_state(reference_layout(1))
    with pytest.raises(CheckpointMismatchError, match=r"missing key\(s\): refinement_stages\.1\."):
        load_reference_checkpoint(lw_openpose(num_refinement_stages=2), state)


def test_unreadable_and_absent_files(tmp_path):
    with pytest.raises(CheckpointMismatchError, match="no such file"):
        load_reference_checkpoint(lw_openpose(), tmp_path / "absent.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointMismatchError, match=r"junk\.pth: cannot be read"):
        load_reference_checkpoint(lw_openpose(), junk)
