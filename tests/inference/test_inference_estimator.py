"""PoseEstimator on real coco-mini / CrowdPose images: boxes given, boxes from a detection file,
boxes from a bottom-up detector, bottom-up models, batching, weights and bad inputs."""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from featherpose import pretrained
from featherpose.engine.checkpoint import CheckpointError, save_weights
from featherpose.inference import Pose, PoseEstimator, load_detections, parse_input_size
from featherpose.io import InputError

pytestmark = pytest.mark.filterwarnings("ignore:.*(random weights|meaningless)")

IMAGES = ("000000350679.jpg", "000000397133.jpg", "000000000139.jpg")
FAST = {"backend": "torch", "input_size": (128, 96), "nms": "none"}  # small, exact, every box kept


def _inside(pose: Pose, box, padding: float = 1.25, aspect: float = 0.75) -> bool:
    """All keypoints inside the crop region of ``box`` (box grown to ``aspect`` and by ``padding``)."""
    w, h = box[2:4]
    w, h = max(w, h * aspect), max(h, w / aspect)
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    kp = pose.keypoints
    in_x = np.abs(kp[:, 0] - cx) <= w * padding / 2 + 1
    in_y = np.abs(kp[:, 1] - cy) <= h * padding / 2 + 1
    return bool(in_x.all() and in_y.all())


@pytest.fixture
def top_down(top_down_model):
    return PoseEstimator(top_down_model, **FAST)


def test_top_down_with_boxes(coco_mini, top_down):
    path = coco_mini / "val2017" / IMAGES[0]
    boxes = [[31.85, 76.64, 369.35, 351.36], [291.85, 12.63, 112.32, 336.95, 0.8]]
    poses = top_down(path, boxes=boxes)
    assert len(poses) == 2
    by_box = sorted(poses, key=lambda p: p.box[0])
    for pose, box in zip(by_box, boxes, strict=True):
        assert pose.keypoints.shape == (17, 3) and pose.keypoints.dtype == np.float32
        assert pose.box == pytest.approx(tuple(box[:4]))
        assert _inside(pose, box)  # image pixels, inside the person's crop
        assert 0.0 <= pose.keypoints[:, 2].min() and pose.keypoints[:, 2].max() <= 1.0
        assert pose.track_id is None
    t = top_down.timer.last
    assert t["pre"] > 0 and t["net"] > 0 and t["post"] > 0
    entry = by_box[0].to_coco(350679, file_name=path.name)
    assert entry["image_id"] == 350679 and len(entry["keypoints"]) == 51 and entry["category_id"] == 1


def test_top_down_boxes_file(crowdpose_fixtures, top_down_model):
    det_file = crowdpose_fixtures / "test_crowdpose_det_AP_40.json"
    dets = load_detections(det_file, score_thr=0.5)
    est = PoseEstimator(top_down_model, **FAST, boxes_file=det_file, det_score_thr=0.5)
    boxes, _ = dets[106848]
    poses = est(crowdpose_fixtures / "106848.jpg")  # image id 106848 from the file name
    assert len(poses) == len(boxes) >= 2
    got = sorted(p.box for p in poses)
    want = sorted(tuple(b) for b in boxes)
    np.testing.assert_allclose(got, want, atol=1e-6)
    # an array has no file name: the image id must be passed
    pixels = cv2.imread(str(crowdpose_fixtures / "106848.jpg"))
    with pytest.raises(InputError, match="image id"):
        est(pixels)
    assert len(est(pixels, image_id=106848)) == len(boxes)
    assert est(pixels, image_id=1) == []  # no detections for that image: nobody


def test_top_down_boxes_from_bottom_up_detector(coco_mini, top_down_model, ae_model, monkeypatch):
    """No boxes: a bottom-up detector's poses give them (its decoder output is fixed here)."""
    from featherpose.codecs import MultiPersonPoses

    detector = PoseEstimator(ae_model, backend="torch", input_size=128, test_scale="fit")
    kps = np.array([[[30 + 3 * k, 20 + 5 * k] for k in range(17)]], np.float32)  # network-input frame
    found = MultiPersonPoses(kps, np.full((1, 17), 0.9, np.float32), np.array([0.9], np.float32))
    monkeypatch.setattr(detector.codec, "decode", lambda maps: [found] * len(maps["heatmaps"]))
    est = PoseEstimator(top_down_model, **FAST, detector=detector)
    path = coco_mini / "val2017" / IMAGES[0]
    poses = est(path)
    h, w = cv2.imread(str(path)).shape[:2]
    f = min(128 / h, 128 / w)  # detector input: the image fitted into 128 x 128 (exact factor, as training)
    fx, fy = f, f
    lo, hi = (kps[0].min(0) + 0.5) / (fx, fy) - 0.5, (kps[0].max(0) + 0.5) / (fx, fy) - 0.5
    assert len(poses) == 1
    x, y, bw, bh = poses[0].box
    assert x == pytest.approx(lo[0] - 0.1 * (hi - lo)[0], abs=1.0) and bh == pytest.approx(1.2 * (hi - lo)[1], abs=1.0)
    assert est.timer.last["detect"] > 0


def test_top_down_without_detections_uses_whole_image(coco_mini, top_down_model, ae_model, monkeypatch):
    detector = PoseEstimator(ae_model, backend="torch", input_size=128)
    monkeypatch.setattr(detector.codec, "decode", lambda maps: [])
    monkeypatch.setattr(PoseEstimator, "_bottomup", lambda self, frames, rm: ([[] for _ in frames], []))
    est = PoseEstimator(top_down_model, **FAST, detector=detector)
    poses = est(coco_mini / "val2017" / IMAGES[2])
    assert [p.box for p in poses] == [(0.0, 0.0, 640.0, 426.0)]


def test_default_detector_is_built_and_warns(coco_mini, top_down_model):
    est = PoseEstimator(top_down_model, **FAST, detector="litepose_xs")
    with pytest.warns(UserWarning, match="detector litepose_xs"):
        poses = est(coco_mini / "val2017" / IMAGES[2])
    assert len(poses) >= 1  # boxes from random poses, or the whole image
    assert est.detector.paradigm == "bottom-up"


def test_bottom_up_model_on_real_image(coco_mini, ae_model):
    est = PoseEstimator(ae_model, backend="torch", input_size=128, flip=True)
    poses, maps = est.predict_batch([coco_mini / "val2017" / IMAGES[1]], return_maps=True)
    assert isinstance(poses[0], list)
    kinds = sorted(layer.kind for layer in maps[0])
    assert kinds == ["heatmaps", "heatmaps", "tags"]  # quarter + half heatmaps, tags
    for pose in poses[0]:
        assert pose.keypoints.shape == (17, 3)


def test_batch_matches_single_calls(coco_mini, top_down):
    paths = [coco_mini / "val2017" / n for n in IMAGES]
    boxes = [[[50, 60, 200, 300]], [[100, 50, 150, 300], [10, 10, 80, 100]], [[400, 150, 80, 200]]]
    top_down.batch_size = 3  # 4 crops -> two network calls
    batch = top_down.predict_batch(paths, boxes=boxes)
    assert [len(b) for b in batch] == [1, 2, 1]
    for path, bxs, got in zip(paths, boxes, batch, strict=True):
        single = top_down(path, boxes=bxs)
        for a, b in zip(sorted(got, key=lambda p: p.box), sorted(single, key=lambda p: p.box), strict=True):
            np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)


def test_inputs_path_array_rgb_and_pil_agree(coco_mini, top_down_model):
    path = coco_mini / "val2017" / IMAGES[2]
    bgr = cv2.imread(str(path))
    box = [[400, 150, 80, 200]]
    est = PoseEstimator(top_down_model, **FAST)
    est_rgb = PoseEstimator(top_down_model, **FAST, color="rgb")
    est_rgb.runner = est.runner  # same network
    ref = est(path, boxes=box)[0].keypoints
    np.testing.assert_allclose(est(bgr, boxes=box)[0].keypoints, ref, atol=1e-4)
    np.testing.assert_allclose(est_rgb(bgr[..., ::-1].copy(), boxes=box)[0].keypoints, ref, atol=1e-4)
    np.testing.assert_allclose(est(Image.open(path), boxes=box)[0].keypoints, ref, atol=1e-4)


def test_reduced_large_jpeg_gives_original_pixels(coco_mini, top_down_model):
    path = coco_mini / "val2017" / IMAGES[0]  # 640 x 428
    est = PoseEstimator(top_down_model, **FAST, max_pixels=40_000)  # decoded at 1/4
    box = [291.85, 12.63, 112.32, 336.95]
    pose = est(path, boxes=[box])[0]
    assert pose.box == pytest.approx(tuple(box), abs=1e-3)
    assert _inside(pose, box)


@pytest.fixture
def no_shipped_weights(tmp_path, monkeypatch):
    """An installation without shipped weights (an empty weights folder): names build random weights."""
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "no-shipped-weights")


def test_weights_roundtrip_and_errors(tmp_path, coco_mini, top_down_model, no_shipped_weights):
    assert not pretrained.has_weights(top_down_model)
    with pytest.warns(UserWarning, match="random weights"):
        est = PoseEstimator(top_down_model, **FAST)
    path = coco_mini / "val2017" / IMAGES[2]
    box = [[400, 150, 80, 200]]
    save_weights(est.model, tmp_path / "run" / "last.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # weights given: no warning
        loaded = PoseEstimator(top_down_model, weights=tmp_path / "run", **FAST)
    np.testing.assert_allclose(loaded(path, boxes=box)[0].keypoints, est(path, boxes=box)[0].keypoints, atol=1e-4)
    with pytest.raises(CheckpointError, match="file not found"):
        PoseEstimator(top_down_model, backend="torch", weights=tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        PoseEstimator(top_down_model, backend="torch", weights=tmp_path / "junk.safetensors")
    with pytest.raises(CheckpointError, match="does not fit"):
        PoseEstimator("lw_openpose", backend="torch", weights=tmp_path / "run")


def test_bad_arguments(coco_mini, top_down, tmp_path):
    path = coco_mini / "val2017" / IMAGES[2]
    with pytest.raises(InputError, match="boxes must be"):
        top_down(path, boxes=[[1, 2, 3]])
    with pytest.raises(InputError, match="positive width"):
        top_down(path, boxes=[[1, 2, 0, 5]])
    with pytest.raises(InputError, match="file not found"):
        top_down(tmp_path / "nope.jpg", boxes=[[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="unknown model"):
        PoseEstimator("no_such_model")
    with pytest.raises(ValueError, match="nms"):
        PoseEstimator("lw_openpose", backend="torch", nms="bogus")
    bad = tmp_path / "det.json"
    bad.write_text(json.dumps([{"image_id": 1, "bbox": [1, 2]}]))
    with pytest.raises(InputError, match="entry 0"):
        load_detections(bad)
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_detections(bad)


def test_parse_input_size():
    assert parse_input_size(None, (256, 192)) == (256, 192)
    assert parse_input_size("128", (256, 192)) == (128, 96)
    assert parse_input_size("160x128", (256, 192)) == (160, 128)
    assert parse_input_size((64, 48), (256, 192)) == (64, 48)
    with pytest.raises(ValueError, match="HxW"):
        parse_input_size("big", (256, 192))
