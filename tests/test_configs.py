"""Every recipe in configs/ loads through the real config loader and builds what the trainer builds
(model, codec, loss, optimiser) with outputs in the codec's layout; the recipes follow the papers and
the references they cite (augmentation distributions, OpenPose-family optimiser)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from featherpose.engine.build import build_codec, build_loss, build_model_from_config, build_optimizer
from featherpose.engine.config import ConfigError, load_config
from featherpose.engine.datasets import bottomup_augment, topdown_augment
from featherpose.skeletons import CROWDPOSE14

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
_spec = importlib.util.spec_from_file_location("variants", REPO / "benchmarks" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
sys.modules["variants"] = variants
_spec.loader.exec_module(variants)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_recipe_builds_model_codec_loss_and_optimizer(path: Path) -> None:
    cfg = load_config(path)
    kset = variants.recipe_keypoint_set(cfg)
    codec = build_codec(cfg, kset)
    assert tuple(codec.input_size) == tuple(cfg.input_size)
    with torch.device("meta"):  # shapes only: nothing is computed
        model = build_model_from_config(cfg, kset).eval()
        out = model(torch.zeros(1, 3, *cfg.input_size))
        optimizer = build_optimizer(cfg, model)
    build_loss(cfg, kset)
    outs = list(out) if isinstance(out, list | tuple) else [out]
    k = codec.keypoint_set.num_keypoints
    kps = np.zeros((k, 3) if codec.paradigm == "top-down" else (1, k, 3), np.float32)
    rendered = codec.render_outputs(kps)  # what a perfect network gives, in the network's layout
    assert [tuple(o.shape[1:]) for o in outs[-len(rendered) :]] == [r.shape for r in rendered]
    n_params = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    assert n_params == sum(p.numel() for p in model.parameters())  # every parameter trained, once


def test_every_paper_row_the_issue_names_has_a_recipe() -> None:
    names = {p.stem: load_config(p) for p in CONFIGS}
    wanted = {
        "mobileposenet_384_coco": ("mobileposenet_384", (384, 288)),
        "wlitepose_xs_crowdpose": ("wlitepose_xs", (256, 256)),
        "litepose_xs_crowdpose": ("litepose_xs", (256, 256)),
        "litepose_s_crowdpose": ("litepose_s", (448, 448)),
        "hrnet_w32_mpii": ("hrnet_w32_mpii", (256, 256)),
        "gadnet_w48_coco": ("gadnet_w48", (256, 192)),
    }
    for stem, (model, size) in wanted.items():
        assert stem in names, f"configs/{stem}.yaml is missing"
        assert (names[stem].model.name, tuple(names[stem].input_size)) == (model, size)


def test_table_vi_ablations_are_recipes() -> None:
    """Paper 004 Table VI: baseline, Exp-1..5 as (DFC-bottleneck, deconv module, weighted loss)."""
    rows = {
        "litepose_s_crowdpose": (False, False, False),
        "wlitepose_s_crowdpose_dfc": (True, False, False),
        "wlitepose_s_crowdpose_dfc_deconv": (True, True, False),
        "wlitepose_s_crowdpose_deconv": (False, True, False),
        "litepose_s_crowdpose_weighted": (False, False, True),
        "wlitepose_s_crowdpose": (True, True, True),
    }
    from featherpose.models.litepose import LitePose
    from featherpose.models.wlitepose import WLitePose
    from featherpose.nn.dfc_bottleneck import DFCBottleneck

    for stem, (dfc, deconv, weighted) in rows.items():
        cfg = load_config(REPO / "configs" / f"{stem}.yaml")
        assert cfg.loss.weighted is weighted and cfg.input_size == (448, 448) and "Table" in cfg.paper
        assert cfg.schedule.milestones == [50, 180] and cfg.epochs == 200  # CrowdPose schedule, 004 IV-C
        with torch.device("meta"):
            model = build_model_from_config(cfg, CROWDPOSE14)
        assert isinstance(model, LitePose) and model.num_keypoints == 14
        blocks = [b for stage in model.stages for b in stage]
        assert all(isinstance(b, DFCBottleneck) for b in blocks) is dfc
        assert any(isinstance(b, DFCBottleneck) for b in blocks) is dfc
        assert (isinstance(model, WLitePose) and model.higher is not None) is deconv


def test_crowdpose_recipes_match_the_real_crowdpose_files(crowdpose_fixtures: Path) -> None:
    """Without the dataset the recipes count CROWDPOSE14; the real CrowdPose file names the same 14 points."""
    import json

    category = json.loads((crowdpose_fixtures / "test_crowdpose.json").read_text())["categories"][0]
    assert list(category["keypoints"]) == list(CROWDPOSE14.keypoints)


HRNET_STYLE = ("hrnet_w32_coco", "gadnet_w32_coco", "gadnet_w48_coco", "mobileposenet_coco", "mobileposenet_384_coco",
               "simplebaseline_r50_coco", "mobileposenet_mpii", "hrnet_w32_mpii", "hr_litenet_mpii")  # fmt: skip
LITEPOSE_STYLE = ("litepose_xs_coco", "litepose_s_coco", "wlitepose_xs_coco", "wlitepose_s_coco",
                  "wlitepose_s_crowdpose", "litepose_s_crowdpose", "wlitepose_xs_crowdpose")  # fmt: skip


@pytest.mark.parametrize("stem", HRNET_STYLE)
def test_hrnet_style_recipes_draw_as_hrnet(stem: str) -> None:
    """HRNet / SimpleBaseline code: clipped Gaussians (scale factor, rotation factor), rotation p = 0.6."""
    aug = topdown_augment(load_config(REPO / "configs" / f"{stem}.yaml").augmentation)
    assert (aug.rotation_dist, aug.scale_dist, aug.rotation_prob, aug.flip_prob) == ("normal", "normal", 0.6, 0.5)
    lo, hi = aug.scale_range
    assert lo + hi == pytest.approx(2.0) and (hi - lo) / 2 in (pytest.approx(0.35), pytest.approx(0.25))
    assert aug.rotation in (45, 30)


@pytest.mark.parametrize("stem", LITEPOSE_STYLE)
def test_litepose_style_recipes_draw_uniformly(stem: str) -> None:
    aug = bottomup_augment(load_config(REPO / "configs" / f"{stem}.yaml").augmentation)
    assert (aug.rotation_dist, aug.scale_dist, aug.scale_mode, aug.flip_prob) == ("uniform", "uniform", "image", 0.5)
    assert (aug.max_rotation, aug.scale_range, aug.max_translate) == (30, (0.75, 1.5), 40)


@pytest.mark.parametrize("stem", ["lw_openpose_coco", "ghostpose_coco"])
def test_openpose_recipes_train_as_the_reference(stem: str) -> None:
    cfg = load_config(REPO / "configs" / f"{stem}.yaml")
    aug = bottomup_augment(cfg.augmentation)
    assert (aug.scale_mode, aug.scale_range, aug.person_height) == ("person", (0.5, 1.1), 0.6)
    assert (aug.max_rotation, aug.rotation_dist, aug.max_translate, aug.flip_prob) == (40, "uniform", 40, 0.5)
    assert cfg.optimizer.weight_decay == 5e-4 and cfg.optimizer.lr == 1e-5  # paper 000 Table 4's rate
    with torch.device("meta"):
        model = build_model_from_config(cfg, CROWDPOSE14)  # OpenPose family: keeps OpenPose-18
        groups = build_optimizer(cfg, model).param_groups
    by_param = {id(p): (g["lr"] / cfg.optimizer.lr, g["weight_decay"]) for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    mods = dict(model.named_modules())

    def rule(name: str) -> tuple[float, float]:
        return by_param[id(named[name])]

    ref = [n for n in named if n.startswith("refinement_stages")]
    conv_w = [n for n in ref if n.endswith("weight") and isinstance(mods[n.rsplit(".", 1)[0]], torch.nn.Conv2d)
              and mods[n.rsplit(".", 1)[0]].groups == 1]  # fmt: skip
    conv_b = [n for n in ref if n.endswith("bias") and isinstance(mods[n.rsplit(".", 1)[0]], torch.nn.Conv2d)]
    assert conv_w and conv_b
    assert {rule(n) for n in conv_w} == {(4.0, 5e-4)} and {rule(n) for n in conv_b} == {(8.0, 0.0)}
    bn_bias = [n for n, m in mods.items() if isinstance(m, torch.nn.BatchNorm2d) and m.bias is not None]
    assert bn_bias and {rule(f"{n}.bias") for n in bn_bias} == {(2.0, 0.0)}
    assert {rule(f"{n}.weight") for n in bn_bias} == {(1.0, 0.0)}
    depthwise = [n for n, m in mods.items() if isinstance(m, torch.nn.Conv2d) and m.groups > 1
                 and m.groups == m.in_channels and not n.startswith("refinement_stages")]  # fmt: skip
    assert depthwise and {rule(f"{n}.weight") for n in depthwise} == {(1.0, 0.0)}
    stem_conv = [n for n, m in mods.items() if isinstance(m, torch.nn.Conv2d) and m.groups == 1 and n.startswith("cpm")]
    assert stem_conv and {rule(f"{n}.weight") for n in stem_conv} == {(1.0, 5e-4)}


def test_shipped_recipes_keep_their_uniform_draws() -> None:
    """The two recipes behind shipped weights keep the draws those weights were trained with."""
    for stem in ("mobileposenet_lspet", "ghostpose_lspet"):
        aug = load_config(REPO / "configs" / f"{stem}.yaml").augmentation
        assert (aug.rotation_dist, aug.scale_dist, aug.rotation_prob, aug.scale_mode) == ("uniform", "uniform", 1.0,
                                                                                          "image")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("augmentation: {rotation_dist: gauss}", "key 'augmentation.rotation_dist': 'gauss' is not one of"),
        ("augmentation: {scale_mode: crop}", "key 'augmentation.scale_mode': 'crop' is not one of"),
        ("augmentation: {rotation_prob: 1.5}", "key 'augmentation.rotation_prob': must be in [0, 1]"),
        ("optimizer: {param_groups: [{kind: conv}]}", "key 'optimizer.param_groups[0].kind': 'conv' is not one of"),
        ("optimizer: {param_groups: [{kind: bn_bias, lr: 2}]}", "unknown key optimizer.param_groups[0].'lr'"),
        ("optimizer: {param_groups: [{kind: bn_bias, lr_mult: -1}]}", "param_groups[0].lr_mult': expected a number"),
    ],
)
def test_new_keys_fail_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(f"model: {{name: m}}\n{text}\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert message in str(err.value) and str(err.value).startswith(f"config {p}:") and "\n" not in str(err.value)


def _table(path: Path, marker: str) -> dict[str, list[str]]:
    text = path.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    assert start in text and end in text, f"{path.name}: {marker} markers missing"
    rows = text.split(start)[1].split(end)[0].strip().splitlines()[2:]
    return {r.split("|")[1].strip().strip("`"): [c.strip() for c in r.split("|")[2:-1]] for r in rows}


def test_readme_and_docs_list_every_recipe() -> None:
    """README's recipe table and docs/models.md's variants table (benchmarks/variants.py) are current."""
    readme = _table(REPO / "README.md", "recipes-table")
    docs = _table(REPO / "docs" / "models.md", "variants-table")
    stems = sorted(p.stem for p in CONFIGS)
    assert sorted(readme) == stems and sorted(docs) == stems, "run benchmarks/variants.py and paste its tables"
    for p in CONFIGS:
        cfg = load_config(p)
        assert readme[p.stem][0] == cfg.paper == docs[p.stem][0]
        assert readme[p.stem][1] == docs[p.stem][1] == f"`{cfg.model.name}`"
