"""Config loading: every shipped recipe validates; bad keys and types give one line naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from featherpose.engine.config import ConfigError, load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_validate(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.model.name and cfg.epochs >= 1 and Path(cfg.data.root).is_absolute()


def test_paper_recipes_are_the_papers() -> None:
    root = CONFIGS[0].parent
    gad = load_config(root / "gadnet_w32_coco.yaml")
    assert (gad.optimizer.type, gad.optimizer.lr, gad.schedule.milestones, gad.epochs, gad.batch_size) == (
        "adamw", 1e-3, [170], 260, 48)  # fmt: skip
    wl = load_config(root / "wlitepose_xs_coco.yaml")
    assert (wl.schedule.milestones, wl.epochs, wl.loss.weighted, wl.loss.tau) == ([350, 480], 500, True, 0.01)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_unknown_key(tmp_path: Path) -> None:
    p = _write(tmp_path, "model: {name: x}\noptimizer: {type: adam, lrr: 0.1}\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert str(err.value).startswith(f"config {p}: unknown key 'optimizer.lrr'")
    assert "\n" not in str(err.value)


def test_wrong_types(tmp_path: Path) -> None:
    cases = {
        "epochs: ten": "key 'epochs': expected an integer",
        "optimizer: {lr: fast}": "key 'optimizer.lr': expected a number",
        "input_size: [256]": "key 'input_size': expected 2 values",
        "augmentation: {flip: 1}": "key 'augmentation.flip': expected true/false",
        "schedule: {milestones: [10, x]}": "key 'schedule.milestones[1]': expected an integer",
        "loss: {type: focal}": "key 'loss.type': 'focal' is not one of",
        "data: 3": "key 'data': expected a mapping",
    }
    for line, expected in cases.items():
        p = _write(tmp_path, f"model: {{name: m}}\n{line}\n")
        with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
            load_config(p)


def test_yaml_floats_and_data_root(tmp_path: Path) -> None:
    p = _write(tmp_path, "model: {name: m}\noptimizer: {lr: 1e-3}\ndata: {root: rel/dir}\n")
    cfg = load_config(p)
    assert cfg.optimizer.lr == 1e-3
    assert cfg.data.root == str((tmp_path / "rel/dir").resolve())
    assert load_config(p, data_root="/data/coco").data.root == "/data/coco"


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML at line [23]"):
        load_config(_write(tmp_path, "model:\n  name: [\n"))
    with pytest.raises(ConfigError, match="'model.name' is required"):
        load_config(_write(tmp_path, "epochs: 3\n"))
