"""The parts behind PoseEstimator, each on its own: Predictor (chunked network runs, input sizes),
BoxSource (given boxes, detection files, the detector), TestTimeAugmentation (views, merges) and
PoseFilter (NMS variants, minimum score, back to original pixels)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from featherpose.inference.box_source import BoxSource, to_decoded
from featherpose.inference.pose import Pose
from featherpose.inference.pose_filter import NmsOptions, PoseFilter, to_original
from featherpose.inference.predictor import Predictor
from featherpose.inference.tta import TestTimeAugmentation
from featherpose.io import InputError, LoadedImage
from featherpose.skeletons import COCO17


class Recorder:
    """A runner returning (x.sum per item) and remembering the chunk sizes (and geometry)."""

    def __init__(self, wants_geometry: bool = False) -> None:
        self.wants_geometry, self.chunks, self.geometry = wants_geometry, [], []

    def __call__(self, batch, geometry=None):
        self.chunks.append(len(batch))
        self.geometry.append(geometry)
        return [batch.reshape(len(batch), -1).sum(1), np.zeros((len(batch), 2))]


def _predictor(runner, **kw) -> Predictor:
    return Predictor(runner, lambda x: x.astype(np.float32) / 255.0, (64, 96), 32, **kw)


@pytest.mark.parametrize("wants", [False, True])
def test_predictor_runs_in_chunks_and_passes_geometry_when_wanted(wants):
    runner = Recorder(wants)
    pixels = np.full((5, 4, 4, 3), 255, np.uint8)
    out = _predictor(runner, batch_size=2)(pixels, [{"image": i} for i in range(5)])
    assert runner.chunks == [2, 2, 1]
    assert out[0].tolist() == [48.0] * 5 and out[1].shape == (5, 2)
    assert (runner.geometry[-1] == [{"image": 4}]) if wants else all(g is None for g in runner.geometry)


def test_predictor_image_sizes_follow_the_test_scale():
    fit = _predictor(Recorder())
    assert fit.image_sizes([(480, 640, 3)]) == ([(64, 96)], (64, 96)) and not fit.width_follows_image
    height = _predictor(Recorder(), test_scale="height")
    own, common = height.image_sizes([(100, 100, 3), (100, 300, 3)])
    assert height.width_follows_image and own[0][0] == own[1][0] == 64 and own[1][1] > own[0][1]
    assert common == (64, own[1][1]) and all(s % 32 == 0 for s in common)


def _frame(scale=(1.0, 1.0)) -> LoadedImage:
    return LoadedImage(np.zeros((100, 200, 3), np.uint8), "im.jpg", scale)


def test_box_source_given_boxes_move_into_the_decoded_frame():
    boxes, scores = BoxSource()(_frame((2.0, 2.0)), given=[[9.5, 19.5, 40.0, 60.0, 0.7]])
    assert boxes.tolist() == [[4.5, 9.5, 20.0, 30.0]] and scores.tolist() == [0.7]
    same = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert to_decoded(same, _frame()) is same


def test_box_source_detections_by_id_or_file_name():
    det = {139: (np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([0.9]))}
    source = BoxSource(det)
    assert source(_frame(), "000000000139.jpg")[0].tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert len(source(_frame(), image_id=5)[0]) == 0  # an image without detections
    with pytest.raises(InputError, match="image id"):
        source(_frame(), np.zeros((4, 4, 3)))


def test_box_source_detector_boxes_and_the_whole_image_fallback():
    kps = np.array([[10.0, 10.0, 1.0], [30.0, 50.0, 1.0]] + [[0.0, 0.0, 0.0]] * 15, np.float32)
    found = [Pose(kps, 0.8, (0, 0, 1, 1)), Pose(kps, 0.05, (0, 0, 1, 1))]
    source = BoxSource(detect=lambda frame: found, det_score_thr=0.1)
    boxes, scores = source(_frame())
    assert len(boxes) == 1 and scores.tolist() == [0.8]
    assert boxes[0, 0] < 10 and boxes[0, 0] + boxes[0, 2] > 30  # the keypoints' extent, grown
    assert source.timer.last["detect"] >= 0.0
    boxes, scores = BoxSource(detect=lambda frame: [])(_frame())
    assert boxes.tolist() == [[0.0, 0.0, 200.0, 100.0]] and scores.tolist() == [1.0]
    with pytest.raises(ValueError, match="no person boxes"):
        BoxSource()(_frame())


def test_box_source_drops_detector_fragments():
    """Detector poses under DETECTOR_MIN_SCORE are fragments, not people: no crop for them (unless
    the floor is lowered); a boxes file is not filtered by it."""
    from featherpose.inference.box_source import DETECTOR_MIN_SCORE

    kps = np.array([[10.0, 10.0, 1.0], [30.0, 50.0, 1.0]] + [[0.0, 0.0, 0.0]] * 15, np.float32)
    low = DETECTOR_MIN_SCORE * 0.8
    found = [Pose(kps, 0.6, (0, 0, 1, 1)), Pose(kps, low, (0, 0, 1, 1))]
    assert BoxSource(detect=lambda frame: found)(_frame())[1].tolist() == [0.6]
    kept = BoxSource(detect=lambda frame: found, detector_min_score=0.0)(_frame())[1]
    assert kept.tolist() == pytest.approx([0.6, low])
    det = {1: (np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([low]))}
    assert BoxSource(det)(_frame(), image_id=1)[1].tolist() == pytest.approx([low])


def test_tta_views_and_validation():
    assert TestTimeAugmentation().views == [(1.0, False)]
    assert TestTimeAugmentation((1.0, 0.5), True).views == [(1.0, False), (0.5, False), (1.0, True), (0.5, True)]
    for bad in ((), (1.0, 0.0)):
        with pytest.raises(ValueError, match="scales"):
            TestTimeAugmentation(bad)


class QuarterCodec:
    """The bits of the codec contract the top-down merge uses: heatmaps at 1/4, channels unflipped
    by mirroring the width."""

    def to_heatmap(self, xy):
        return xy / 4.0

    def unflip(self, maps):
        return {"heatmaps": maps["heatmaps"][..., ::-1]}


def test_tta_topdown_crops_and_a_flip_merge_on_symmetric_maps():
    tta = TestTimeAugmentation((1.0,), flip=True)
    frames = [LoadedImage(np.zeros((64, 64, 3), np.uint8), "a"), LoadedImage(np.zeros((64, 64, 3), np.uint8), "b")]
    box_sets = [(np.array([[8.0, 8.0, 24.0, 32.0]]), np.ones(1)), (np.zeros((0, 4)), np.zeros(0))]
    matrices, crops, geometry = tta.topdown_crops(frames, box_sets, (64, 48), False, 1.25)
    assert matrices.shape == (2, 1, 2, 3) and crops.shape == (2, 64, 48, 3)
    assert [(g["image"], g["box"], g["flip"]) for g in geometry] == [(0, 0, False), (0, 0, True)]
    heatmaps = np.zeros((2, 1, 16, 12), np.float32)
    heatmaps[:, 0, 8, 5:7] = 1.0  # symmetric about the crop's centre line
    merged, s_mat = tta.merge_topdown(QuarterCodec(), heatmaps, matrices)
    assert merged.shape == (1, 1, 16, 12) and np.allclose(s_mat[:, :2], np.eye(2) / 4)
    assert merged[0, 0].sum() == pytest.approx(2.0, abs=0.1)  # the mass stays: moved, not lost
    assert merged[0, 0, 8, 5:7].sum() >= 1.5 and merged[0, 0, 8].sum() == pytest.approx(merged[0, 0].sum())


def test_tta_bottomup_merge_of_one_view_is_the_view():
    maps = {"heatmaps": np.random.default_rng(0).random((2, 3, 8, 8)).astype(np.float32)}
    mats = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
    merged = TestTimeAugmentation().merge_bottomup([(maps, mats, (32, 32))])
    assert np.array_equal(merged["heatmaps"], maps["heatmaps"]) and merged["heatmaps"] is not maps["heatmaps"]


def _twins() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two near-identical poses and a third far away."""
    rng = np.random.default_rng(1)
    xy = rng.uniform(20, 60, (1, 17, 2)).repeat(3, 0)
    xy[1] += 0.5
    xy[2] += 300.0
    scores = np.array([[0.9] * 17, [0.8] * 17, [0.7] * 17])
    boxes = np.array([[20.0, 20.0, 40.0, 40.0], [20.0, 20.0, 40.0, 40.0], [320.0, 320.0, 40.0, 40.0]])
    return xy, scores, boxes, np.ones(3)


@pytest.mark.parametrize("method, kept", [("parallel", 2), ("oks", 2), ("soft", 3), ("none", 3)])
def test_pose_filter_nms_variants(method, kept):
    poses = PoseFilter(COCO17, NmsOptions(method)).topdown(*_twins(), _frame())
    assert len(poses) == kept
    assert [p.score for p in poses] == sorted((p.score for p in poses), reverse=True)
    assert poses[0].score == pytest.approx(0.9)


def test_pose_filter_min_score_and_bad_method():
    poses = PoseFilter(COCO17, NmsOptions("none"), min_score=0.75).topdown(*_twins(), _frame())
    assert [round(p.score, 3) for p in poses] == [0.9, 0.8]
    with pytest.raises(ValueError, match="nms must be one of"):
        NmsOptions("greedy")


def test_pose_filter_maps_back_to_original_pixels():
    kps, boxes = np.array([[[4.5, 9.5, 1.0]]]), np.array([[4.5, 9.5, 20.0, 30.0]])
    to_original(kps, boxes, _frame((2.0, 2.0)))
    assert kps[0, 0, :2].tolist() == [9.5, 19.5] and boxes.tolist() == [[9.5, 19.5, 40.0, 60.0]]
    found = SimpleNamespace(keypoints=np.array([[[10.0, 20.0], [30.0, 40.0]]]),
                            keypoint_scores=np.array([[0.9, 0.0]]), scores=np.array([0.5]))  # fmt: skip
    poses = PoseFilter(COCO17).bottomup(found, np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]), _frame())
    assert len(poses) == 1 and poses[0].keypoints[0, :2].tolist() == [20.0, 40.0]
    assert poses[0].keypoints[1, :2].tolist() == [0.0, 0.0]  # an undetected keypoint sits at the origin


def test_estimator_forwards_its_options_to_the_parts():
    from featherpose.inference import PoseEstimator

    est = PoseEstimator.__new__(PoseEstimator)  # the parts alone, no network
    est.predictor = _predictor(Recorder())
    est.box_source, est.pose_filter = BoxSource(), PoseFilter(COCO17, NmsOptions("oks", 0.5))
    est.tta = TestTimeAugmentation((1.0, 0.5), True)
    est.runner, est.input_size, est.kpt_thr, est.min_score = "r", (32, 32), 0.3, 0.2
    assert est.predictor.runner == "r" and est.predictor.input_size == (32, 32)
    assert est.pose_filter.kpt_thr == est.box_source.kpt_thr == 0.3 and est.pose_filter.min_score == 0.2
    assert (est.nms, est.nms_threshold, est.flip, est.scales) == ("oks", 0.5, True, (1.0, 0.5))
