"""``featherpose train`` for a few steps on coco-mini, resumed, then ``featherpose eval --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from featherpose.cli import main

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "featherpose.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def _tiny_recipe(tmp_path: Path) -> Path:
    """The shipped coco-mini recipe at a tiny input size, validating on 2 images every epoch."""
    cfg = yaml.safe_load((REPO / "configs" / "mobileposenet_coco-mini.yaml").read_text())
    cfg["data"]["root"] = "coco-mini-root-is-given-by---data-root"
    cfg.update(input_size=[64, 48], batch_size=4, epochs=1, log_interval=1)
    cfg["eval"].update(max_images=2, interval=1)
    cfg["data"]["cache_images"] = False
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_train_then_eval_json(tmp_path: Path, coco_mini: Path) -> None:
    recipe, out = _tiny_recipe(tmp_path), tmp_path / "run"
    first = _cli("train", str(recipe), "--out", str(out), "--data-root", str(coco_mini), "--max-steps", "2",
                 "--no-progress")  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    assert "max_steps: epoch 0, step 2" in first.stdout
    state_steps = [json.loads(x)["step"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert state_steps[:2] == [1, 2]

    weights = str(out / "last.safetensors")
    ev = _cli("eval", str(recipe), "--weights", weights, "--data-root", str(coco_mini), "--json", "--flip")
    assert ev.returncode == 0, ev.stderr[-2000:]
    metrics = json.loads(ev.stdout.strip().splitlines()[-1])
    assert {"AP", "AP50", "AR"} <= metrics.keys() and 0.0 <= metrics["AP"] <= 1.0

    # the wrong model's weights: a one-line error naming the file, exit code 2
    other = yaml.safe_load(recipe.read_text())
    other["model"] = {"name": "mobilenetv2_deconv"}
    other_path = tmp_path / "other.yaml"
    other_path.write_text(yaml.safe_dump(other))
    bad = _cli("eval", str(other_path), "--weights", weights, "--data-root", str(coco_mini))
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and f"checkpoint {weights}: does not fit model" in bad.stderr


def test_config_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {name: mobileposenet}\noptimizer: {learning_rate: 0.1}\n")
    assert main(["train", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"featherpose train: error: config {bad}: unknown key 'optimizer.learning_rate' "
        "(known here: betas, lr, momentum, param_groups, type, weight_decay)"
    )
