"""MPII PCKh on the real mmpose MPII fixture (5 people, 16 joints)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from featherpose.evaluation import head_size_from_boxes, head_size_from_joints, mpii_pckh, pckh
from featherpose.skeletons import MPII16


@pytest.fixture
def mpii(mpii_fixtures):
    entries = json.loads((mpii_fixtures / "test_mpii.json").read_text())
    gt = np.array([e["joints"] for e in entries], dtype=np.float64)
    vis = np.array([e["joints_vis"] for e in entries], dtype=np.float64)
    return gt, vis


def test_perfect_predictions_give_100(mpii):
    gt, vis = mpii
    hs = head_size_from_joints(gt)
    assert np.all(hs > 0)
    summary = mpii_pckh(gt.copy(), gt, vis, hs)
    assert summary["PCKh@0.5"] == 100.0 and summary["PCKh@0.1"] == 100.0 and summary["PCKh@0.5_all"] == 100.0
    res = pckh(gt, gt, vis, hs)
    assert all(v == 100.0 for n, v in res["per_joint"].items() if res["count"][n] > 0)


def test_known_perturbation_matches_hand_computation(mpii):
    gt, vis = mpii
    hs = head_size_from_joints(gt)
    wrist = MPII16.index("left_wrist")
    person = int(np.flatnonzero(vis[:, wrist] > 0)[0])
    pred = gt.copy()
    pred[person, wrist, 1] += 0.6 * hs[person]  # wrong at 0.5
    other = MPII16.index("right_knee")
    p2 = int(np.flatnonzero(vis[:, other] > 0)[-1])
    pred[p2, other, 0] += 0.3 * hs[p2]  # right at 0.5, wrong at 0.1
    n_wrist = int((vis[:, wrist] > 0).sum())
    included = [i for i, n in enumerate(MPII16.keypoints) if n not in ("pelvis", "thorax")]
    total = int((vis[:, included] > 0).sum())
    at5 = pckh(pred, gt, vis, hs, 0.5)
    assert at5["per_joint"]["left_wrist"] == pytest.approx(100.0 * (n_wrist - 1) / n_wrist)
    assert at5["per_joint"]["right_knee"] == 100.0
    assert at5["mean"] == pytest.approx(100.0 * (total - 1) / total)
    assert at5["mean_all"] == pytest.approx(100.0 * (int((vis > 0).sum()) - 1) / int((vis > 0).sum()))
    summary = mpii_pckh(pred, gt, vis, hs)
    assert summary["PCKh@0.1"] == pytest.approx(100.0 * (total - 2) / total)
    assert summary["Wrist"] == pytest.approx(100.0 * (2 * n_wrist - 1) / (vis[:, [10, 15]] > 0).sum())


def test_pelvis_and_thorax_excluded_from_mean_only(mpii):
    gt, vis = mpii
    hs = head_size_from_joints(gt)
    pred = gt.copy()
    pred[:, MPII16.index("pelvis")] += 10 * hs[:, None]
    res = pckh(pred, gt, vis, hs)
    assert res["mean"] == 100.0 and res["per_joint"]["pelvis"] == 0.0 and res["mean_all"] < 100.0


def test_unannotated_joints_do_not_count(mpii):
    gt, vis = mpii
    hs = head_size_from_joints(gt)
    vis = vis.copy()
    vis[0, 0] = 0
    pred = gt.copy()
    pred[0, 0] += 1000.0  # far off, but not annotated
    res = pckh(pred, gt, vis, hs)
    assert res["per_joint"]["right_ankle"] == 100.0 and res["count"]["right_ankle"] == int(vis[:, 0].sum())


def test_head_boxes_use_sc_bias(mpii):
    gt, vis = mpii
    top, neck = gt[:, MPII16.index("head_top")], gt[:, MPII16.index("upper_neck")]
    side = np.linalg.norm(top - neck, axis=1)
    centre = (top + neck) / 2
    boxes = np.concatenate([centre - side[:, None] / 2, centre + side[:, None] / 2], axis=1)
    hs = head_size_from_boxes(boxes)
    np.testing.assert_allclose(hs, 0.6 * np.sqrt(2) * side)
    # A shift of 0.45 head sizes passes with the box head size, but not with 0.6x smaller normaliser.
    pred = gt.copy()
    pred[:, MPII16.index("left_knee"), 0] += 0.45 * hs
    assert pckh(pred, gt, vis, hs)["per_joint"]["left_knee"] == 100.0
    assert pckh(pred, gt, vis, 0.6 * hs)["per_joint"]["left_knee"] == 0.0


def test_bad_shapes_raise(mpii):
    gt, vis = mpii
    with pytest.raises(ValueError, match="16"):
        pckh(gt[:, :10], gt[:, :10], vis[:, :10], np.ones(len(gt)))
    with pytest.raises(ValueError, match="head sizes"):
        pckh(gt, gt, vis, np.zeros(len(gt)))
