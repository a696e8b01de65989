"""COCO keypoint AP on the real coco-mini annotations: perfect, perturbed, empty, malformed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from featherpose.data.errors import AnnotationError
from featherpose.evaluation import (
    ResultsFileError,
    coco_keypoint_ap,
    load_coco,
    load_results,
    save_results,
)
from featherpose.nms import oks_matrix
from featherpose.skeletons import COCO17, CROWDPOSE14


def _people(path):
    data = json.loads(path.read_text())
    return data, [a for a in data["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]


def _as_result(a: dict, score: float = 1.0) -> dict:
    return {"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]), "score": score}


@pytest.mark.parametrize("split", ["val2017", "train2017"])
def test_perfect_predictions_give_ap_1(coco_mini, split):
    path = coco_mini / "annotations" / f"person_keypoints_{split}.json"
    data, people = _people(path)
    for gt in (path, data, load_coco(path)):
        m = coco_keypoint_ap(gt, [_as_result(a) for a in people])
        assert m["AP"] == pytest.approx(1.0) and m["AR"] == pytest.approx(1.0)


def test_shifted_keypoint_oks_and_ap_match_hand_computation(coco_mini):
    path = coco_mini / "annotations" / "person_keypoints_val2017.json"
    data, people = _people(path)
    # A person with few labelled keypoints, so that one moved keypoint can pull OKS below 0.95.
    target = max((a for a in people if 4 <= a["num_keypoints"] <= 8), key=lambda a: a["area"])
    gt = np.reshape(target["keypoints"], (17, 3)).astype(float)
    k = int(np.flatnonzero(gt[:, 2] > 0)[-1])
    n_vis = int((gt[:, 2] > 0).sum())
    # Choose the shift that leaves exp(-d^2 / (2 area (2 sigma)^2)) = 0.3 for the moved keypoint.
    want = (n_vis - 1 + 0.3) / n_vis
    term = 0.3
    d = np.sqrt(-np.log(term) * 2 * target["area"] * (2 * COCO17.sigmas[k]) ** 2)
    moved = gt.copy()
    moved[k, 0] += d
    oks = oks_matrix(gt[None], moved[None], [target["area"]], COCO17.sigmas_array())[0, 0]
    assert oks == pytest.approx(want, abs=1e-9)
    results = [_as_result(a) for a in people if a is not target]
    results.append({**_as_result(target, 0.5), "keypoints": moved.reshape(-1).tolist()})
    m = coco_keypoint_ap(path, results)
    # AP per OKS threshold t: 1 where t < oks; else the perturbed person (ranked last) is a miss and
    # precision stays 1 up to recall (G-1)/G: the fraction of the 101 recall points within it.
    g = len(people)
    thresholds = np.linspace(0.5, 0.95, 10)
    recall_pts = np.linspace(0, 1, 101)
    partial = np.mean(recall_pts <= (g - 1) / g + 1e-12)
    expected = np.mean(np.where(thresholds <= oks, 1.0, partial))  # pycocotools: match when oks >= t
    assert m["AP"] == pytest.approx(expected, abs=1e-9)
    assert 0.5 < oks < 0.95 and expected < 1.0
    assert m["AP50"] == pytest.approx(1.0)


def test_empty_results_give_zero(coco_mini):
    m = coco_keypoint_ap(coco_mini / "annotations" / "person_keypoints_val2017.json", [])
    assert m["AP"] == 0.0 and m["AR"] == 0.0


def test_custom_keypoint_count_uses_its_sigmas(coco_mini):
    """A 14-keypoint (CrowdPose-order) copy of the real val2017 people, with its own sigmas."""
    data, people = _people(coco_mini / "annotations" / "person_keypoints_val2017.json")
    coco_idx = [COCO17.index(n) for n in CROWDPOSE14.keypoints[:12]]
    anns = []
    for a in people:
        kp = np.reshape(a["keypoints"], (17, 3))
        k14 = np.zeros((14, 3))
        k14[:12] = kp[coco_idx]
        k14[12] = kp[0]  # nose as the head point, neck left unlabeled
        anns.append({**a, "keypoints": k14.reshape(-1).tolist(), "num_keypoints": int((k14[:, 2] > 0).sum())})
    anns = [a for a in anns if a["num_keypoints"] > 0]
    gt = {**data, "annotations": anns, "categories": [CROWDPOSE14.to_coco_category()]}
    assert coco_keypoint_ap(gt, [_as_result(a) for a in anns])["AP"] == pytest.approx(1.0)
    target = max(anns, key=lambda a: a["num_keypoints"])
    moved = np.reshape(target["keypoints"], (14, 3)).astype(float)
    k = int(np.flatnonzero(moved[:, 2] > 0)[0])
    moved[k, 0] += 3 * np.sqrt(target["area"]) * CROWDPOSE14.sigmas[k]
    res = [_as_result(a) for a in anns if a is not target]
    res.append({**_as_result(target), "keypoints": moved.reshape(-1).tolist()})
    # The same results score differently under other sigmas: the category's sigmas are really used.
    ap_own = coco_keypoint_ap(gt, res)["AP"]
    ap_wide = coco_keypoint_ap(gt, res, sigmas=np.full(14, 1.0))["AP"]
    assert ap_own < 1.0 and ap_wide == pytest.approx(1.0)
    assert coco_keypoint_ap(gt, res, sigmas=CROWDPOSE14)["AP"] == pytest.approx(ap_own)


def test_results_file_roundtrip_and_atomic_write(coco_mini, tmp_path):
    path = coco_mini / "annotations" / "person_keypoints_train2017.json"
    _, people = _people(path)
    results = [{**_as_result(a, np.float32(0.9)), "keypoints": np.asarray(a["keypoints"], np.float32)} for a in people]
    out = save_results(tmp_path / "sub" / "res.json", results)
    assert [p.name for p in out.parent.iterdir()] == ["res.json"]  # no temp file left behind
    back = load_results(out, num_keypoints=17)
    assert len(back) == len(people)
    assert coco_keypoint_ap(path, out)["AP"] == pytest.approx(1.0)


def test_malformed_files_raise_one_line_error_naming_the_file(coco_mini, tmp_path):
    bad_json = tmp_path / "broken.json"
    bad_json.write_text("[{")
    with pytest.raises(ResultsFileError, match="broken.json"):
        load_results(bad_json)
    missing = tmp_path / "nokeys.json"
    missing.write_text(json.dumps([{"image_id": 1, "keypoints": [0, 0, 1]}]))
    with pytest.raises(ResultsFileError, match=r"nokeys.json.*'category_id'"):
        load_results(missing)
    short = tmp_path / "short.json"
    short.write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 1, "keypoints": [0, 0, 1] * 5}]))
    with pytest.raises(ResultsFileError, match="short.json.*expected 17"):
        coco_keypoint_ap(coco_mini / "annotations" / "person_keypoints_val2017.json", short)
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match="ann.json") as err:
        load_coco(ann)
    assert "\n" not in str(err.value)
    with pytest.raises(ResultsFileError, match="image_id"):
        coco_keypoint_ap(
            coco_mini / "annotations" / "person_keypoints_val2017.json",
            [{"image_id": -5, "category_id": 1, "score": 1.0, "keypoints": [1, 1, 1] * 17}],
        )
