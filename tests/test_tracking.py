"""Pose tracking: stable ids by Hungarian matching on OKS or box IoU."""

from __future__ import annotations

import numpy as np
import pytest

from featherpose.inference import Pose
from featherpose.skeletons import COCO17
from featherpose.tracking import BoxCarrier, PoseTracker, box_iou


def _person(x: float, y: float = 50.0, height: float = 200.0) -> Pose:
    """A standing figure at (x, y): keypoints spread over a height x height/3 box."""
    rng = np.random.default_rng(int(x))
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = x + rng.uniform(0, height / 3, 17)
    kp[:, 1] = y + np.linspace(0, height, 17)
    kp[:, 2] = 0.9
    return Pose(kp, 0.9, (x, y, height / 3, height))


def _moved(p: Pose, dx: float) -> Pose:
    kp = p.keypoints.copy()
    kp[:, 0] += dx
    return Pose(kp, p.score, (p.box[0] + dx, *p.box[1:]))


def test_box_iou_values():
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]]))
    np.testing.assert_allclose(iou, [[1.0, 50 / 150, 0.0]])


@pytest.mark.parametrize("metric", ["oks", "iou"])
def test_ids_follow_people_when_the_list_order_changes(metric):
    tracker = PoseTracker(metric, sigmas=COCO17.sigmas)
    a, b = _person(100), _person(400)
    first = tracker.update([a, b])
    ids = {round(p.box[0]): p.track_id for p in first}
    assert sorted(ids.values()) == [1, 2]
    second = tracker.update([_moved(b, 5), _moved(a, 4)])  # swapped order, small motion
    assert second[0].track_id == ids[400] and second[1].track_id == ids[100]
    assert a.track_id is None  # inputs are not modified


def test_new_people_lost_people_and_reappearance():
    tracker = PoseTracker("oks", sigmas=COCO17.sigmas, max_missed=2)
    a, b = _person(100), _person(400)
    ia, ib = (p.track_id for p in tracker.update([a, b]))
    tracker.update([a])  # b missed once
    back = tracker.update([a, b])  # b back within max_missed: same id
    assert [p.track_id for p in back] == [ia, ib]
    for _ in range(3):
        tracker.update([a])  # b missed 3 > 2 times: its track closes
    again = tracker.update([a, b])
    assert again[0].track_id == ia and again[1].track_id not in (ia, ib)
    far = tracker.update([a, _person(900)])  # someone unrelated: a new id
    assert far[1].track_id not in (ia, ib, again[1].track_id)


def test_oks_tracking_needs_sigmas():
    with pytest.raises(ValueError, match="sigmas"):
        PoseTracker("oks")
    with pytest.raises(ValueError, match="metric"):
        PoseTracker("bogus")


def test_oks_falls_back_to_box_iou_without_confident_keypoints():
    tracker = PoseTracker("oks", sigmas=COCO17.sigmas)
    a = _person(100)
    a.keypoints[:, 2] = 0.01  # e.g. an untrained network: no keypoint above kpt_thr
    first = tracker.update([a])[0]
    b = _moved(a, 3)
    b.keypoints[:, 0] += np.random.default_rng(1).normal(0, 40, 17)  # keypoints all over the place
    assert tracker.update([b])[0].track_id == first.track_id  # the boxes still overlap


def test_box_carrier_runs_the_detector_every_n_frames():
    carrier = BoxCarrier(every=3)
    a = _person(100)
    plan = []
    for _ in range(7):
        got = carrier.boxes()
        plan.append("detect" if got is None else "carry")
        carrier.update([_moved(a, 2)])
    assert plan == ["detect", "carry", "carry", "detect", "carry", "carry", "detect"]
    assert carrier.detections == 3
    assert BoxCarrier(every=1).boxes() is None and BoxCarrier(every=1).boxes() is None
    with pytest.raises(ValueError, match=">= 1"):
        BoxCarrier(every=0)


def test_box_carrier_boxes_follow_the_pose_and_keep_the_detection_score():
    carrier = BoxCarrier(every=10, pad=0.1)
    a = _person(100)
    assert carrier.boxes() is None
    detected = np.array([[90.0, 40.0, 90.0, 230.0], [500.0, 40.0, 60.0, 200.0]])
    carrier.update([a], detected, np.array([0.8, 0.3]))  # a came from the first box (best overlap)
    boxes, scores = carrier.boxes()
    kp = a.keypoints
    w, h = np.ptp(kp[:, 0]), np.ptp(kp[:, 1])
    np.testing.assert_allclose(boxes, [[kp[:, 0].min() - 0.1 * w, kp[:, 1].min() - 0.1 * h, 1.2 * w, 1.2 * h]],
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(scores, [0.8])
    carrier.update([_moved(a, 5)], boxes, scores)  # carried again: the score stays the detection's
    np.testing.assert_allclose(carrier.boxes()[1], [0.8])


def test_box_carrier_asks_the_detector_when_nobody_is_confident():
    carrier = BoxCarrier(every=10, kpt_thr=0.3, min_keypoints=3)
    weak = _person(100)
    weak.keypoints[:, 2] = 0.2  # nothing above kpt_thr: nothing to carry
    assert carrier.boxes() is None
    carrier.update([weak])
    assert carrier.boxes() is None  # detector again, not an empty carry
    carrier.update([_person(100), weak])
    boxes, _ = carrier.boxes()
    assert len(boxes) == 1  # only the confident pose is carried
