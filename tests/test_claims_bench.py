"""benchmarks/claims.py: every arm's recipe is a valid training config that builds, the LSPET -> COCO-17 view
keeps the shared joints, the redundant boxes behave like a detector's, and the report's arithmetic."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from featherpose.engine.build import build_codec, build_model_from_config
from featherpose.engine.config import config_from_dict
from featherpose.skeletons import COCO17, CROWDPOSE14

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("claims_bench", REPO / "benchmarks" / "claims.py")
claims = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = claims  # dataclasses look their module up
_spec.loader.exec_module(claims)
LSPET_VAL = claims.SHARED / "data" / "lspet" / "annotations" / "lspet_val.json"
COCO_VAL = claims.SHARED / "data" / "coco-mini" / "annotations" / "person_keypoints_val2017.json"


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is absent: the real data lives in ../shared beside the checkout (CI has it)")
    return path


@pytest.mark.parametrize("arm", claims.ARMS, ids=lambda a: claims.run_id(a, 0))
def test_every_arm_is_a_config_that_builds(arm, tmp_path):
    cfg = config_from_dict(claims.recipe(arm, 0, tmp_path, epochs=2))
    assert cfg.model.name == arm.model and cfg.epochs == 2 and cfg.schedule.type == "cosine"
    kset = CROWDPOSE14 if arm.paradigm == "top-down" else COCO17  # 14 points like LSPET's; COCO-17
    model = build_model_from_config(cfg, kset)
    assert sum(p.numel() for p in model.parameters()) > 0
    assert build_codec(cfg, kset) is not None


def test_arms_of_a_claim_share_data_budget_and_schedule(tmp_path):
    for claim in claims.CLAIMS:
        recipes = [claims.recipe(a, 0, tmp_path, 5) for a in claims.ARMS if a.claim == claim]
        keys = ("data", "input_size", "augmentation", "schedule", "epochs", "batch_size", "optimizer")
        assert recipes and all({k: r[k] for k in keys} == {k: recipes[0][k] for k in keys} for r in recipes)


def test_lspet_in_coco17_names_keeps_the_twelve_shared_joints():
    lspet = json.loads(_need(LSPET_VAL).read_text())
    coco17 = json.loads(_need(COCO_VAL).read_text())["categories"][0]
    out = claims._lspet_to_coco17(lspet, coco17)
    names14, names17 = lspet["categories"][0]["keypoints"], coco17["keypoints"]
    a14, a17 = lspet["annotations"][0], out["annotations"][0]
    for j, name in enumerate(names17):
        got = a17["keypoints"][3 * j : 3 * j + 3]
        if name in names14:
            i = names14.index(name)
            assert got == a14["keypoints"][3 * i : 3 * i + 3]
        else:
            assert got[2] == 0
    assert out["categories"] == [coco17] and len(a17["keypoints"]) == 51


def test_redundant_boxes_surround_every_person_with_scored_copies():
    from featherpose.evaluation import load_coco

    coco = load_coco(_need(COCO_VAL))
    rng = np.random.default_rng(0)
    image_id = max(coco.imgToAnns, key=lambda i: sum(a["num_keypoints"] > 0 for a in coco.imgToAnns[i]))
    people = [a for a in coco.imgToAnns[image_id] if a["num_keypoints"] > 0]
    boxes = np.array(claims.redundant_boxes(coco, image_id, rng, copies=5))
    assert boxes.shape == (5 * len(people) + 1, 5)
    assert np.all(boxes[:, 2:4] > 0) and np.all((boxes[:, 4] >= 0) & (boxes[:, 4] <= 0.95))
    for n, a in enumerate(people):
        group = boxes[5 * n : 5 * n + 5]
        assert np.allclose(group[0, :4], a["bbox"]) and np.all(group[1:, 4] < group[0, 4])


def test_summary_means_spreads_and_deltas():
    scores = [{"claim": "004-loss", "arm": "mobileposenet, MSE", "seed": s, "AP": ap, "epochs": 5, "step": 705,
               "stopped": "finished", "wall_seconds": 60.0} for s, ap in ((0, 0.10), (1, 0.14))]
    scores += [{"claim": "004-loss", "arm": "mobileposenet, weighted loss", "seed": s, "AP": ap, "epochs": 5,
                "step": 705, "stopped": "finished", "wall_seconds": 60.0} for s, ap in ((0, 0.15), (1, 0.17))]
    rows = claims.summarise(scores)
    mse, weighted = rows
    assert mse["AP_mean"] == pytest.approx(0.12) and mse["AP_spread"] == pytest.approx(0.04)
    assert weighted["vs"] == "mobileposenet, MSE" and weighted["delta_AP"] == pytest.approx(0.04)
    table = claims.markdown(rows, {"budget": "b", "hardware": "h"})
    assert "| 004-loss | mobileposenet, weighted loss |" in table and "+0.040" in table
