"""Trainer: exact resumption, outputs, schedule, signal handling (tiny model, synthetic data)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_model import TinyNet, register_tiny, tiny_config

from featherpose.engine.build import StepSchedule
from featherpose.engine.checkpoint import load_state
from featherpose.engine.config import config_from_dict
from featherpose.engine.trainer import train


@pytest.fixture(autouse=True)
def _tiny_model(one_thread: None) -> None:
    """The tiny test model registered, torch single-threaded (the shared ``one_thread`` fixture)."""
    register_tiny()


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path: Path) -> None:
    cfg = config_from_dict(tiny_config())  # 2 epochs x 3 steps, dropout + BN + augmentation
    full = train(cfg, tmp_path / "full", progress=False)
    assert (full.epoch, full.step, full.stopped) == (2, 6, "finished")

    part = train(cfg, tmp_path / "part", max_steps=4, progress=False)  # stops mid-epoch 1
    assert (part.epoch, part.step, part.stopped) == (1, 4, "max_steps")
    assert load_state(tmp_path / "part" / "state.pt")["step"] == 4
    done = train(cfg, tmp_path / "part", resume=True, progress=False)
    assert (done.epoch, done.step, done.stopped) == (2, 6, "finished")

    a, b = _weights(tmp_path / "full" / "last.safetensors"), _weights(tmp_path / "part" / "last.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the optimiser moved the weights: the comparison is not between two untouched initialisations
    torch.manual_seed(cfg.seed)
    init = TinyNet().state_dict()
    assert not torch.equal(init["body.0.weight"], a["body.0.weight"])
    assert not torch.equal(init["body.1.running_mean"], a["body.1.running_mean"])


def test_different_seed_gives_different_weights(tmp_path: Path) -> None:
    cfg = config_from_dict(tiny_config(epochs=1))
    train(cfg, tmp_path / "s0", seed=0, progress=False)
    train(cfg, tmp_path / "s1", seed=1, progress=False)
    a, b = _weights(tmp_path / "s0" / "last.safetensors"), _weights(tmp_path / "s1" / "last.safetensors")
    assert not torch.equal(a["body.0.weight"], b["body.0.weight"])


def test_outputs_and_metrics_log(tmp_path: Path) -> None:
    cfg = config_from_dict(tiny_config())
    train(cfg, tmp_path, progress=False)
    for name in ("last.safetensors", "best.safetensors", "state.pt", "metrics.jsonl", "config.yaml"):
        assert (tmp_path / name).is_file(), name
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train_lines = [x for x in lines if x["type"] == "train"]
    assert [x["step"] for x in train_lines] == [1, 2, 3, 4, 5, 6]
    assert all(x["images_per_s"] > 0 and x["loss"] > 0 for x in train_lines)
    # linear warm-up over 2 steps from 0.001 x lr, then x0.5 from epoch 1 (milestone 1)
    assert [x["lr"] for x in train_lines] == pytest.approx([1e-5, 0.005005, 0.01, 0.005, 0.005, 0.005])
    assert lines[-1]["type"] == "end" and lines[-1]["stopped"] == "finished"
    assert not list(tmp_path.glob(".tmp-*"))


def test_step_schedule_warmup_and_milestones() -> None:
    cfg = config_from_dict({"model": {"name": "x"}, "schedule": {"milestones": [2, 4], "gamma": 0.1,
                                                                   "warmup_steps": 4, "warmup_ratio": 0.0}})
    f = StepSchedule(cfg, steps_per_epoch=10)
    assert [f(s) for s in (0, 2, 4, 19, 20, 39, 40)] == pytest.approx([0.0, 0.5, 1.0, 1.0, 0.1, 0.1, 0.01])


def test_sigterm_sets_the_stop_flag_and_handlers_are_restored() -> None:
    # In a fresh interpreter: native libraries loaded by other tests (OpenVINO, onnxruntime threads) make a
    # signal sent to the whole pytest process crash it, which says nothing about the trainer.
    code = """
import os, signal
from featherpose.engine.trainer import StopFlag
before = signal.getsignal(signal.SIGTERM)
with StopFlag() as flag:
    assert not flag.set
    os.kill(os.getpid(), signal.SIGTERM)
    assert flag.set and flag.signum == signal.SIGTERM
assert signal.getsignal(signal.SIGTERM) is before
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_resume_without_state_is_a_clear_error(tmp_path: Path) -> None:
    from featherpose.engine.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="state.pt: file not found"):
        train(config_from_dict(tiny_config()), tmp_path, resume=True, progress=False)
