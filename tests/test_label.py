"""Pseudo-labelling core (featherpose.label): thresholds, OKS, box IoU and the merge rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from featherpose.inference.pose import Pose
from featherpose.label import (
    annotate,
    box_iou,
    category_of,
    convert_keypoints,
    merge,
    oks_matrix,
    pose_annotation,
    pseudo_label,
)
from featherpose.skeletons import COCO17, keypoint_set_from_coco_category

# A small human keypoint set in the style of LSPET: some COCO names, and two COCO lacks.
HUMAN_NAMES = ["right_ankle", "left_ankle", "right_shoulder", "left_shoulder", "right_wrist", "left_wrist", "neck",
               "head_top"]  # fmt: skip
HUMAN_CAT = {"id": 1, "name": "person", "keypoints": HUMAN_NAMES, "skeleton": [[1, 3], [2, 4], [3, 7], [4, 7], [7, 8]]}
C = {n: i for i, n in enumerate(COCO17.keypoints)}


def test_pose_annotation_weak_points_become_unlabelled():
    kps = np.array([[10.0, 20.0, 0.9], [30.0, 40.0, 0.29], [50.0, 60.0, 0.3], [70.0, 80.0, 0.0]])
    ann = pose_annotation(kps, 0.7, image_id=5, ann_id=9, kpt_thr=0.3)
    assert ann["keypoints"] == [10.0, 20.0, 2, 0, 0, 0, 50.0, 60.0, 2, 0, 0, 0]
    assert ann["num_keypoints"] == 2 and ann["id"] == 9 and ann["image_id"] == 5 and ann["iscrowd"] == 0
    # box: extent of the labelled points (10..50, 20..60), grown by 10% per side
    assert ann["bbox"] == [6.0, 16.0, 48.0, 48.0] and ann["area"] == 48.0 * 48.0
    assert ann["score"] == 0.7
    none = pose_annotation(kps, 0.7, 1, 1, kpt_thr=0.95)
    assert none["num_keypoints"] == 0 and none["bbox"] == [0.0, 0.0, 0.0, 0.0]


def test_annotate_drops_weak_poses_and_numbers_the_kept_ones():
    good = np.array([[1.0, 1.0, 0.9], [5.0, 5.0, 0.8], [9.0, 2.0, 0.7], [3.0, 3.0, 0.1]])
    few = good.copy()
    few[1:, 2] = 0.1  # one labelled point only
    anns = annotate([(good, 0.1), (few, 0.9), (good, 0.5), (good, 0.9)], 3, 11, kpt_thr=0.3, pose_thr=0.2,
                    min_keypoints=3)  # fmt: skip
    assert [a["id"] for a in anns] == [11, 12] and [a["score"] for a in anns] == [0.5, 0.9]
    assert all(a["num_keypoints"] == 3 for a in anns)


def test_oks_matrix_matches_a_hand_computation():
    sig = np.array([0.1, 0.2, 0.05])
    a = np.array([[[0.0, 0.0, 2], [10.0, 0.0, 2], [0.0, 10.0, 0]]])  # third point unlabelled in the human
    b = np.array([[[3.0, 4.0, 2], [10.0, 0.0, 2], [0.0, 10.0, 2]],  # d = 5, 0
                  [[0.0, 0.0, 2], [0.0, 0.0, 0], [0.0, 0.0, 2]]])  # fmt: skip  # second point missing
    area = 100.0
    e0 = 25.0 / (2 * area * (2 * 0.1) ** 2)
    want = np.array([[(np.exp(-e0) + 1.0) / 2, (1.0 + 0.0) / 2]])
    np.testing.assert_allclose(oks_matrix(a, b, np.array([area]), sig), want, rtol=1e-9)
    assert oks_matrix(a[:0], b, np.zeros(0), sig).shape == (0, 2)


def test_box_iou():
    a = [[0, 0, 2, 2], [10, 10, 1, 1]]
    b = [[0, 0, 2, 2], [1, 0, 2, 2], [5, 5, 1, 1]]
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 2 / 6, 0.0], [0.0, 0.0, 0.0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)


def test_convert_keypoints_by_name():
    flat = np.arange(len(HUMAN_NAMES) * 3, dtype=float)
    h_set = keypoint_set_from_coco_category(HUMAN_CAT)
    out = convert_keypoints(flat, h_set, COCO17)
    assert out.shape == (17, 3)
    np.testing.assert_array_equal(out[C["left_shoulder"]], flat.reshape(-1, 3)[3])
    assert (out[C["nose"]] == 0).all()


# -- merge -------------------------------------------------------------------------------------------
def _human_person(x0: float, y0: float) -> list[float]:
    """A standing person at (x0, y0) in HUMAN_NAMES order; the left wrist is unlabelled."""
    pts = {"right_ankle": (x0 - 10, y0 + 100), "left_ankle": (x0 + 10, y0 + 100), "right_shoulder": (x0 - 15, y0 + 20),
           "left_shoulder": (x0 + 15, y0 + 20), "right_wrist": (x0 - 20, y0 + 60), "neck": (x0, y0 + 15),
           "head_top": (x0, y0 - 10)}  # fmt: skip
    flat: list[float] = []
    for n in HUMAN_NAMES:
        flat += [*pts[n], 2] if n in pts else [0, 0, 0]
    return flat


def _pseudo_person(x0: float, y0: float, jitter: float = 2.0) -> np.ndarray:
    """The same person in COCO-17, every point found, each a little off the human's."""
    kps = np.zeros((17, 3))
    pts = {"nose": (x0, y0), "left_eye": (x0 + 3, y0 - 3), "right_eye": (x0 - 3, y0 - 3), "left_ear": (x0 + 6, y0),
           "right_ear": (x0 - 6, y0), "left_shoulder": (x0 + 15, y0 + 20), "right_shoulder": (x0 - 15, y0 + 20),
           "left_elbow": (x0 + 18, y0 + 40), "right_elbow": (x0 - 18, y0 + 40), "left_wrist": (x0 + 20, y0 + 60),
           "right_wrist": (x0 - 20, y0 + 60), "left_hip": (x0 + 10, y0 + 55), "right_hip": (x0 - 10, y0 + 55),
           "left_knee": (x0 + 10, y0 + 78), "right_knee": (x0 - 10, y0 + 78), "left_ankle": (x0 + 10, y0 + 100),
           "right_ankle": (x0 - 10, y0 + 100)}  # fmt: skip
    for n, (x, y) in pts.items():
        kps[C[n]] = (x + jitter, y - jitter, 0.9)
    return kps


def _files() -> tuple[dict, dict]:
    human = {
        "images": [{"id": 7, "file_name": "a.jpg", "width": 400, "height": 300},
                   {"id": 8, "file_name": "b.jpg", "width": 400, "height": 300}],
        "annotations": [
            {"id": 70, "image_id": 7, "category_id": 1, "iscrowd": 0, "keypoints": _human_person(100, 50),
             "num_keypoints": 7, "bbox": [70, 30, 60, 130], "area": 7800.0},
            {"id": 71, "image_id": 7, "category_id": 1, "iscrowd": 1, "bbox": [300, 0, 100, 50], "area": 5000.0},
            {"id": 80, "image_id": 8, "category_id": 1, "iscrowd": 0, "keypoints": _human_person(50, 50),
             "num_keypoints": 7, "bbox": [20, 30, 60, 130], "area": 7800.0},
        ],
        "categories": [HUMAN_CAT],
        "licenses": [{"id": 1, "name": "x"}],
    }  # fmt: skip
    weak = _pseudo_person(250, 60)
    weak[5:, 2] = 0.0  # only the 5 face points: under extra_keypoints
    poses = {
        "a.jpg": [
            (_pseudo_person(100, 50), 0.9),  # matches human 70
            (_pseudo_person(104, 56, jitter=9), 0.8),  # a second, worse copy of the same person: duplicate
            (_pseudo_person(250, 60), 0.7),  # nobody labelled this one: unmatched, confident
            (weak, 0.9),  # unmatched, too few points
            (_pseudo_person(330, 150), 0.25),  # unmatched, too weak a score
        ],
        "c.jpg": [(_pseudo_person(100, 50), 0.9)],  # an image the human file does not have
    }
    pseudo = pseudo_label(lambda p: [Pose(k, s, (0, 0, 1, 1)) for k, s in poses[p.name]], [Path(n) for n in poses],
                          COCO17, kpt_thr=0.3, pose_thr=0.2)  # fmt: skip
    return human, pseudo


def test_merge_keeps_human_labels_and_fills_only_missing_points():
    human, pseudo = _files()
    merged, counts = merge(human, pseudo)
    assert merged["categories"][0]["keypoints"] == list(COCO17.keypoints)
    assert merged["images"] == human["images"] and merged["licenses"] == human["licenses"]
    by_id = {a["id"]: a for a in merged["annotations"]}
    assert {70, 71, 80} <= set(by_id)  # every human annotation, with its id
    h_set = keypoint_set_from_coco_category(HUMAN_CAT)
    for ann_id in (70, 80):
        human_kps = np.asarray(next(a for a in human["annotations"] if a["id"] == ann_id)["keypoints"]).reshape(-1, 3)
        out = np.asarray(by_id[ann_id]["keypoints"], float).reshape(17, 3)
        for n in ("right_ankle", "left_ankle", "right_shoulder", "left_shoulder", "right_wrist"):
            np.testing.assert_array_equal(out[C[n]], human_kps[h_set.keypoints.index(n)])  # human label unchanged
        # names COCO-17 lacks are kept beside the keypoints
        assert by_id[ann_id]["unmapped_keypoints"] == {"neck": [human_kps[6, 0], human_kps[6, 1], 2.0],
                                                       "head_top": [human_kps[7, 0], human_kps[7, 1], 2.0]}  # fmt: skip
    a70 = by_id[70]
    filled = set(a70["pseudo_keypoints"])
    # the human lacked these; the matched pseudo pose (not the duplicate) gave them
    assert filled == set(COCO17.keypoints) - {"right_ankle", "left_ankle", "right_shoulder", "left_shoulder",
                                              "right_wrist"}  # fmt: skip
    out = np.asarray(a70["keypoints"], float).reshape(17, 3)
    src = _pseudo_person(100, 50)
    np.testing.assert_allclose(out[C["nose"], :2], src[C["nose"], :2])
    assert out[C["left_wrist"], 2] == 2 and a70["num_keypoints"] == 17
    # human 80 has no pseudo pose in b.jpg: untouched apart from the key order
    assert "pseudo_keypoints" not in by_id[80] and by_id[80]["num_keypoints"] == 5
    assert "keypoints" not in by_id[71] and by_id[71]["iscrowd"] == 1  # the crowd region is never matched
    extra = [a for a in merged["annotations"] if a.get("pseudo")]
    assert len(extra) == 1 and extra[0]["image_id"] == 7 and extra[0]["id"] > 80 and extra[0]["iscrowd"] == 0
    assert counts == {"matched": 1, "filled_points": 12, "extra_persons": 1, "ignore_regions": 0, "duplicates": 1,
                      "images_labelled": 1, "images_not_in_human": 1}  # fmt: skip


def test_merge_unmatched_modes():
    human, pseudo = _files()
    ignore, counts = merge(human, pseudo, unmatched="ignore")
    regions = [a for a in ignore["annotations"] if a.get("pseudo")]
    assert len(regions) == 1 and counts["ignore_regions"] == 1 and counts["extra_persons"] == 0
    assert regions[0]["iscrowd"] == 1 and regions[0]["num_keypoints"] == 0 and not any(regions[0]["keypoints"])
    dropped, counts = merge(human, pseudo, unmatched="drop")
    assert not any(a.get("pseudo") for a in dropped["annotations"]) and len(dropped["annotations"]) == 3
    assert counts["matched"] == 1 and counts["filled_points"] == 12
    with pytest.raises(ValueError, match="unmatched"):
        merge(human, pseudo, unmatched="keep")


def test_merge_oks_threshold_decides_the_match():
    human, pseudo = _files()
    _, counts = merge(human, pseudo, oks_thr=0.999)  # a 2 px jitter is not a match at 0.999
    assert counts["matched"] == 0 and counts["filled_points"] == 0


def test_merge_needs_shared_names():
    human, pseudo = _files()
    human["categories"] = [dict(HUMAN_CAT, keypoints=[f"k{i}" for i in range(len(HUMAN_NAMES))])]
    with pytest.raises(ValueError, match="share no keypoint name"):
        merge(human, pseudo)


def test_category_of_round_trips():
    cat = category_of(COCO17)
    assert keypoint_set_from_coco_category(cat).keypoints == COCO17.keypoints
    assert len(cat["sigmas"]) == 17 and cat["flip_pairs"]


def test_pseudo_label_reports_bad_images():
    bad: list[str] = []

    def predict(p: Path) -> list:
        if p.name == "bad.jpg":
            raise ValueError("corrupt")
        return [Pose(_pseudo_person(50, 50), 0.8, (0, 0, 1, 1))]

    out = pseudo_label(predict, [Path("/d/x/a.jpg"), Path("/d/bad.jpg")], COCO17, root=Path("/d"),
                       on_error=lambda p, why: bad.append(f"{p.name}: {why}"))  # fmt: skip
    assert [im["file_name"] for im in out["images"]] == ["x/a.jpg"] and bad == ["bad.jpg: corrupt"]
    assert len(out["annotations"]) == 1 and out["annotations"][0]["id"] == 1
