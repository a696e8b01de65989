"""Tests for OKS and the three pose-NMS variants, on real COCO poses where they can serve."""

from __future__ import annotations

import json

import numpy as np
import pytest

from featherpose.nms import oks_matrix, oks_nms, parallel_oks_nms, pose_score, soft_oks_nms
from featherpose.skeletons import COCO17

SIG = COCO17.sigmas_array()


@pytest.fixture
def real_people(coco_mini):
    """Two well-separated, fully annotated real people from one val2017 image."""
    data = json.loads((coco_mini / "annotations" / "person_keypoints_val2017.json").read_text())
    by_image: dict[int, list[dict]] = {}
    for a in data["annotations"]:
        if a["num_keypoints"] >= 10 and not a["iscrowd"]:
            by_image.setdefault(a["image_id"], []).append(a)
    for anns in by_image.values():
        if len(anns) < 2:
            continue
        poses = np.array([np.reshape(a["keypoints"], (17, 3)) for a in anns], dtype=np.float64)
        areas = np.array([a["area"] for a in anns])
        o = oks_matrix(poses, poses, areas, SIG)
        if o[0, 1] < 0.05 and o[1, 0] < 0.05:
            poses[:, :, 2] = np.where(poses[:, :, 2] > 0, 0.9, 0.0)  # visibility -> keypoint score
            return poses[:2], areas[:2]
    pytest.skip("no image with two separated people")


def _pycoco_oks(gt: np.ndarray, dt: np.ndarray, area: float) -> float:
    """pycocotools' computeOks for one pair, via COCOeval itself."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO()
    coco.dataset = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}],
                    "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": area,
                                     "bbox": [0, 0, 10, 10], "keypoints": gt.reshape(-1).tolist(),
                                     "num_keypoints": int((gt[:, 2] > 0).sum())}]}  # fmt: skip
    coco.createIndex()
    det = coco.loadRes([{"image_id": 1, "category_id": 1, "score": 1.0, "keypoints": dt.reshape(-1).tolist()}])
    ev = COCOeval(coco, det, "keypoints")
    ev.evaluate()
    return float(ev.ious[(1, 1)][0, 0])


def test_oks_matrix_matches_hand_computation_and_pycocotools(real_people):
    poses, areas = real_people
    gt = poses[0].copy()
    gt[:, 2] = np.where(gt[:, 2] > 0, 2, 0)
    k = int(np.flatnonzero(gt[:, 2] > 0)[0])
    d = 7.5
    dt = gt.copy()
    dt[k, 0] += d
    n_vis = int((gt[:, 2] > 0).sum())
    hand = (n_vis - 1 + np.exp(-(d**2) / (2 * areas[0] * (2 * SIG[k]) ** 2))) / n_vis
    got = oks_matrix(gt[None], dt[None], areas[:1], SIG)[0, 0]
    assert got == pytest.approx(hand, rel=1e-12)
    assert got == pytest.approx(_pycoco_oks(gt, dt, float(areas[0])), rel=1e-9)
    assert oks_matrix(gt[None], gt[None], areas[:1], SIG)[0, 0] == pytest.approx(1.0)


def test_oks_matrix_shapes_masks_and_symmetric_scale(real_people):
    poses, areas = real_people
    o = oks_matrix(poses, poses[:1], areas, SIG, areas_b=areas[:1], vis_thr=0.5, both=True)
    assert o.shape == (2, 1) and o[0, 0] == pytest.approx(1.0) and o[1, 0] < 0.05
    hidden = poses.copy()
    hidden[:, :, 2] = 0.0
    assert np.all(oks_matrix(hidden, poses, areas, SIG, vis_thr=0.1) == 0)  # no counted keypoint -> 0
    assert oks_matrix(poses[:0], poses, areas[:0], SIG).shape == (0, 2)
    with pytest.raises(ValueError, match="sigmas"):
        oks_matrix(poses, poses, areas, SIG[:5])


def test_pose_score_is_eq6():
    s = np.array([[0.9, 0.05, 0.5], [0.05, 0.02, 0.1]])
    got = pose_score(s, np.array([0.8, 1.0]), thr=0.1)
    assert got[0] == pytest.approx(0.8 * (0.9 + 0.5) / 2)
    assert got[1] == 0.0


def _scene(real_people, rng):
    """Person A, a jittered duplicate of A (lower score), and person B (lowest score)."""
    poses, areas = real_people
    dup = poses[0].copy()
    dup[:, :2] += rng.normal(0, 0.5, (17, 2))
    cand = np.stack([poses[0], dup, poses[1]])
    return cand, np.array([0.9, 0.8, 0.6]), np.array([areas[0], areas[0] * 1.05, areas[1]])


def test_hard_nms_removes_duplicate_keeps_distinct_person(real_people):
    cand, scores, areas = _scene(real_people, np.random.default_rng(0))
    assert oks_nms(cand, scores, areas, SIG).tolist() == [0, 2]
    # Order follows the scores, not the input order.
    assert oks_nms(cand[::-1], scores[::-1], areas[::-1], SIG).tolist() == [2, 0]


def test_soft_nms_decays_duplicate_scores(real_people):
    cand, scores, areas = _scene(real_people, np.random.default_rng(1))
    keep, new = soft_oks_nms(cand, scores, areas, SIG)
    assert keep[:2].tolist() == [0, 2] and keep[-1] == 1
    assert new[0] == scores[0] and new[1] == pytest.approx(scores[2], rel=1e-3)
    assert new[-1] < 0.8 * np.exp(-(0.9**2) / 0.5) + 1e-9  # duplicate: OKS > 0.9 -> gaussian decay
    keep_lin, new_lin = soft_oks_nms(cand, scores, areas, SIG, method="linear")
    assert dict(zip(keep_lin.tolist(), new_lin.tolist(), strict=True)).get(1, 0.0) < 0.1 * 0.8  # decayed or dropped


def test_parallel_nms_same_keep_as_hard_on_simple_cases(real_people):
    rng = np.random.default_rng(2)
    for _ in range(5):
        cand, boxes, areas = _scene(real_people, rng)
        p = pose_score(cand[:, :, 2], boxes)
        keep, new = parallel_oks_nms(cand, boxes, areas, SIG)
        assert sorted(keep.tolist()) == sorted(oks_nms(cand, p, areas, SIG).tolist()) == [0, 2]
        assert new[0] == pytest.approx(p[0])  # the best pose is never decayed


def test_parallel_nms_compensation_rescues_pose_suppressed_only_by_a_suppressed_pose():
    # 1-D toy on one keypoint: A (best), B overlaps A strongly, C overlaps B but not A.
    x = np.array([0.0, 0.6, 2.0])
    poses = np.zeros((3, 1, 3))
    poses[:, 0, 0], poses[:, 0, 2] = x, 1.0
    areas, sig = np.ones(3), np.array([0.5])
    o = oks_matrix(poses, poses, areas, sig, areas_b=areas)
    keep, new = parallel_oks_nms(poses, np.array([0.9, 0.8, 0.7]), areas, sig, score_thr=0.0, mode="soft")
    got = dict(zip(keep.tolist(), new.tolist(), strict=True))
    assert got[0] == pytest.approx(0.9)
    assert got[1] == pytest.approx(0.8 * (1 - o[0, 1]), rel=1e-5)
    expected_c = 0.7 * min(1 - o[0, 2], (1 - o[1, 2]) / (1 - o[0, 1]))
    assert got[2] == pytest.approx(expected_c, rel=1e-5)
    assert expected_c > 0.7 * (1 - o[1, 2])  # compensation lifted C
    # The decay, thresholded ("matrix" mode): B (OKS to A below 0.9) and C survive, with their scores.
    keep, new = parallel_oks_nms(poses, np.array([0.9, 0.8, 0.7]), areas, sig, mode="matrix", oks_thr=0.9)
    assert keep.tolist() == [0, 1, 2] and new.tolist() == pytest.approx([0.9, 0.8, 0.7])
    keep, _ = parallel_oks_nms(poses, np.array([0.9, 0.8, 0.7]), areas, sig, mode="matrix", oks_thr=0.5)
    assert keep.tolist() == [0, 2]  # B suppressed by A; C only overlaps the suppressed B


def _real_candidates(coco_mini, rng, copies=3, jitter=0.01):
    """Per val2017 image: jittered copies of every real person (decreasing box score) + one false positive."""
    from featherpose.evaluation import load_coco

    coco = load_coco(coco_mini / "annotations" / "person_keypoints_val2017.json")
    by_image: dict[int, list[dict]] = {}
    for a in coco.dataset["annotations"]:
        if a["num_keypoints"] > 0 and not a["iscrowd"]:
            by_image.setdefault(a["image_id"], []).append(a)
    scenes = []
    for image_id, anns in by_image.items():
        cand, boxes, areas = [], [], []
        for a in anns:
            gt = np.reshape(a["keypoints"], (17, 3)).astype(float)
            vis = gt[:, 2] > 0
            for c in range(copies):
                pose = gt.copy()
                pose[:, :2] += rng.normal(0, jitter * np.sqrt(a["area"]) * (1 + c), (17, 2))
                pose[:, 2] = np.where(vis, rng.uniform(0.6, 1.0, 17), 0.0)
                cand.append(pose)
                boxes.append(0.95 * 0.9**c)
                areas.append(a["bbox"][2] * a["bbox"][3])
            fp = gt.copy()
            fp[:, :2] += rng.uniform(-300, 300, 2)
            fp[:, 2] = np.where(vis, rng.uniform(0.1, 0.4, 17), 0.0)
            cand.append(fp)
            boxes.append(0.3)
            areas.append(a["bbox"][2] * a["bbox"][3])
        scenes.append((image_id, np.array(cand), np.array(boxes), np.array(areas)))
    return coco, scenes


def test_parallel_hard_mode_keeps_exactly_what_greedy_hard_nms_keeps(coco_mini):
    # Larger jitter -> OKS between copies straddles the threshold, so suppression chains occur.
    _, scenes = _real_candidates(coco_mini, np.random.default_rng(3), copies=6, jitter=0.03)
    chains = 0
    for _, cand, boxes, areas in scenes:
        p = pose_score(cand[:, :, 2], boxes)
        for thr in (0.5, 0.9):
            hard = oks_nms(cand, p, areas, SIG, thr=thr)
            keep, scores = parallel_oks_nms(cand, boxes, areas, SIG, score_thr=0.0, oks_thr=thr)
            assert keep.tolist() == hard.tolist()  # same poses, same (score) order
            assert scores == pytest.approx(p[hard])
            chains += len(hard) != len(parallel_oks_nms(cand, boxes, areas, SIG, oks_thr=thr, mode="matrix")[0])
    assert chains > 0  # the one-shot "matrix" mode differs somewhere: the exact mode is not trivially equal


def test_prefilter_and_blocks_do_not_change_oks(coco_mini, monkeypatch):
    import featherpose.nms as nms

    _, scenes = _real_candidates(coco_mini, np.random.default_rng(4), copies=4, jitter=0.05)
    _, cand, boxes, areas = max(scenes, key=lambda s: len(s[1]))
    dense = oks_matrix(cand, cand, areas, SIG, areas_b=areas, vis_thr=0.1, both=True)
    var = (2 * SIG) ** 2
    d = nms._Prepared(cand, areas, var, 0.1)
    i, j, o = d.pairs()
    assert np.all(i < j)
    got = np.zeros_like(dense)
    got[i, j] = o
    upper = np.triu(np.ones_like(dense, dtype=bool), 1)
    assert np.abs(got - dense)[upper].max() < 1e-5  # float32; skipped pairs have OKS < 1e-6
    assert len(i) < upper.sum()  # the pre-filter skipped far-apart pairs
    monkeypatch.setattr(nms, "_CHUNK", 17 * 7)  # tiny blocks: same numbers
    small = oks_matrix(cand, cand, areas, SIG, areas_b=areas, vis_thr=0.1, both=True)
    assert np.allclose(small, dense, rtol=0, atol=1e-12)
    i2, j2, o2 = nms._Prepared(cand, areas, var, 0.1).pairs()
    assert sorted(zip(i2.tolist(), j2.tolist(), strict=True)) == sorted(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("fn", [oks_nms, soft_oks_nms, parallel_oks_nms])
def test_empty_and_single_input(fn, real_people):
    poses, areas = real_people
    out = fn(poses[:0], np.zeros(0), areas[:0], SIG)
    keep = out[0] if isinstance(out, tuple) else out
    assert keep.shape == (0,)
    out = fn(poses[:1], np.array([0.9]), areas[:1], SIG)
    keep = out[0] if isinstance(out, tuple) else out
    assert keep.tolist() == [0]


@pytest.mark.parametrize(
    "mode",
    [
        "hard",
        pytest.param(
            "soft",
            marks=pytest.mark.xfail(
                strict=True,
                reason="measured: Algorithm 1 step 12 taken literally (p <- decay p) scores ~1.6 AP below hard "
                "OKS-NMS here: it lowers true poses that overlap other people, which then rank below other "
                "images' leftovers (see docs/evaluation.md); hence the thresholded default",
            ),
        ),
    ],
)
def test_parallel_matches_hard_ap_on_real_candidates(coco_mini, mode):
    """Jittered duplicates of every real val2017 person + false positives: AP within 0.5 points."""
    from featherpose.evaluation import coco_keypoint_ap

    coco, scenes = _real_candidates(coco_mini, np.random.default_rng(0))
    hard_res, par_res = [], []
    for image_id, cand, boxes, areas in scenes:
        p = pose_score(cand[:, :, 2], boxes)
        for keep, scores, res in (
            (k := oks_nms(cand, p, areas, SIG), p[k], hard_res),
            (*parallel_oks_nms(cand, boxes, areas, SIG, mode=mode), par_res),
        ):
            res += [{"image_id": image_id, "category_id": 1, "score": float(s),
                     "keypoints": cand[i].reshape(-1).tolist()} for i, s in zip(keep, scores, strict=True)]  # fmt: skip
    ap_hard = coco_keypoint_ap(coco, hard_res)["AP"]
    ap_par = coco_keypoint_ap(coco, par_res)["AP"]
    assert ap_hard > 0.5
    assert abs(ap_hard - ap_par) <= 0.005


@pytest.mark.parametrize("mode", ["hard", "matrix", "soft"])
def test_parallel_modes_empty_single_and_bad_arguments(mode, real_people):
    poses, areas = real_people
    assert parallel_oks_nms(poses[:0], np.zeros(0), areas[:0], SIG, mode=mode)[0].shape == (0,)
    assert parallel_oks_nms(poses[:1], np.array([0.9]), areas[:1], SIG, mode=mode)[0].tolist() == [0]
    hidden = poses.copy()
    hidden[:, :, 2] = 0.0  # no keypoint above the threshold: confidence 0, dropped
    assert parallel_oks_nms(hidden, np.array([0.9, 0.8]), areas, SIG, mode=mode)[0].shape == (0,)
    with pytest.raises(ValueError, match="mode"):
        parallel_oks_nms(poses, np.array([0.9, 0.8]), areas, SIG, mode="fast")
    with pytest.raises(ValueError, match="kernel"):
        parallel_oks_nms(poses, np.array([0.9, 0.8]), areas, SIG, mode=mode, kernel="cubic")
