"""Checkpoint IO: atomic writes, weights-only state, clear errors for the wrong model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from featherpose.engine.checkpoint import (
    CheckpointError,
    atomic_write,
    load_state,
    load_weights,
    save_state,
    save_weights,
)


def _net(width: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width), nn.Conv2d(width, 2, 1))


def test_weights_roundtrip_bit_exact(tmp_path: Path) -> None:
    a, b = _net(), _net()
    with torch.no_grad():
        a[0].weight.add_(1.0)
    a[1].running_mean.fill_(0.25)
    save_weights(a, tmp_path / "w.safetensors", {"epoch": 3})
    load_weights(b, tmp_path / "w.safetensors")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert oct(os.stat(tmp_path / "w.safetensors").st_mode & 0o777) != oct(0o600)


def test_wrong_model_fails_with_one_line_naming_file_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(_net(4), path)
    with pytest.raises(CheckpointError) as err:
        load_weights(_net(8), path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert "0.weight (4x3x3x3 in file, 8x3x3x3 in model)" in msg
    other = nn.Linear(2, 2)
    expected = r"2 missing keys, first: weight, bias; 9 unexpected keys, first: 0\.bias, 0\.weight"
    with pytest.raises(CheckpointError, match=expected):
        load_weights(other, path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage, not safetensors")
    with pytest.raises(CheckpointError, match="bad.safetensors: not a readable safetensors"):
        load_weights(_net(), bad)
    with pytest.raises(CheckpointError, match="file not found"):
        load_weights(_net(), tmp_path / "missing.safetensors")


def test_kill_between_write_and_rename_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.safetensors"
    old = _net()
    save_weights(old, path)
    before = path.read_bytes()
    new = _net()
    with torch.no_grad():
        new[0].weight.mul_(2.0)

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_weights(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old checkpoint is intact and loads
    load_weights(_net(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]  # no temp file left behind


def test_stale_temp_file_is_cleaned_on_next_save(tmp_path: Path) -> None:
    path = tmp_path / "state.pt"
    stale = tmp_path / ".tmp-state.pt.abc123"  # what a SIGKILL mid-write leaves
    stale.write_bytes(b"partial")
    save_state({"step": 3}, path)
    assert not stale.exists()
    assert load_state(path) == {"step": 3}


def test_state_loads_weights_only(tmp_path: Path) -> None:
    opt = torch.optim.Adam(_net().parameters())
    state = {"optimizer": opt.state_dict(), "rng": torch.get_rng_state(), "epoch": 2, "best": None}
    save_state(state, tmp_path / "state.pt")
    loaded = load_state(tmp_path / "state.pt")
    assert loaded["epoch"] == 2 and torch.equal(loaded["rng"], state["rng"])

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="evil.pt: cannot be loaded"):
        load_state(tmp_path / "evil.pt")


def test_atomic_write_failure_in_writer(tmp_path: Path) -> None:
    def boom(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "x.bin", boom)
    assert list(tmp_path.iterdir()) == []


def test_metadata_roundtrip_and_fp16_shipping(tmp_path: Path) -> None:
    from featherpose.engine.checkpoint import read_meta, read_model_file, ship_weights
    from featherpose.modelfile import ModelMeta

    meta = ModelMeta.for_model("mobileposenet", input_size=(64, 48), provenance={"recipe": "r.yaml", "step": 3})
    a = _net(256)
    a[1].running_mean.fill_(0.123456789)
    save_weights(a, tmp_path / "fp32.safetensors", meta)
    state, got = read_model_file(tmp_path / "fp32.safetensors")
    assert got == meta and read_meta(tmp_path / "fp32.safetensors") == meta
    assert all(torch.equal(state[k], v) for k, v in a.state_dict().items())

    ship_weights(a, tmp_path / "fp16.safetensors", meta)
    state, got = read_model_file(tmp_path / "fp16.safetensors")
    assert got == meta and state["0.weight"].dtype == torch.float16
    assert state["1.num_batches_tracked"].dtype == torch.int64  # integer buffers are kept
    size = (tmp_path / "fp16.safetensors").stat().st_size
    assert size < 0.75 * (tmp_path / "fp32.safetensors").stat().st_size
    b = load_weights(_net(256), tmp_path / "fp16.safetensors")  # upcast to the model's dtype
    for k, v in a.state_dict().items():
        assert b.state_dict()[k].dtype == v.dtype
        if v.is_floating_point():
            assert torch.equal(b.state_dict()[k], v.half().float())


def test_files_without_or_with_bad_metadata(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from featherpose.engine.checkpoint import read_meta

    save_weights(_net(), tmp_path / "plain.safetensors", {"epoch": 3})
    assert read_meta(tmp_path / "plain.safetensors") is None
    save_file({"x": torch.zeros(1)}, str(tmp_path / "bad.safetensors"), metadata={"featherpose": '{"schema": 9}'})
    with pytest.raises(CheckpointError, match=r"bad.safetensors: metadata schema 9 is newer"):
        read_meta(tmp_path / "bad.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="junk.safetensors: not a readable safetensors"):
        read_meta(tmp_path / "junk.safetensors")
