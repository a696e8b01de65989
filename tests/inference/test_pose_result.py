"""The result object: :class:`Pose` / :class:`Result` names, dict / JSON round trip, normalised
coordinates and drawing, on the shipped weights and real photos."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import featherpose
from featherpose.inference import Pose, PoseEstimator, Result
from featherpose.skeletons import COCO17, CROWDPOSE14

ASSET = Path(featherpose.__file__).parent / "assets" / "coco_349860.jpg"
PERSON = "val2017/000000109313.jpg"  # one large, fully visible person in coco-mini


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator("mobileposenet", backend="torch")  # the shipped weights


@pytest.fixture(scope="module")
def result(estimator) -> Result:
    return estimator.predict_result(ASSET)


def test_result_holds_named_poses(result, estimator):
    image = cv2.imread(str(ASSET))
    assert result.image_size == image.shape[:2] and result.source.endswith(ASSET.name)
    assert len(result) >= 1 and result.names == COCO17.keypoints
    np.testing.assert_array_equal(result.image, image)
    for pose in result:
        assert pose.names == COCO17.keypoints and pose.image_size == result.image_size
        np.testing.assert_array_equal(pose.keypoint("left_wrist"), pose.keypoints[9])
    assert result.keypoints.shape == (len(result), 17, 3) and result.scores.shape == (len(result),)
    # the same poses as calling the estimator
    plain = estimator(ASSET)
    np.testing.assert_allclose(result.keypoints, np.stack([p.keypoints for p in plain]), rtol=1e-3, atol=1e-3)
    with pytest.raises(KeyError, match="no keypoint 'tail'"):
        result[0].keypoint("tail")


def test_names_follow_the_body(estimator, coco_mini, val_people):
    """On a real person with its ground-truth box, each named side lands on that side's ground truth."""
    path, people = val_people[Path(PERSON).name]
    gt_kp, box = people[0]
    pose = estimator.predict_result(path, boxes=[box])[0]
    for left in ("left_shoulder", "left_hip", "left_knee", "left_ankle"):
        right = left.replace("left", "right")
        gl, gr = gt_kp[COCO17.index(left), :2], gt_kp[COCO17.index(right), :2]
        for name, own, twin in ((left, gl, gr), (right, gr, gl)):
            xy = pose.keypoint(name)[:2]
            assert np.linalg.norm(xy - own) < np.linalg.norm(xy - twin), name


def test_dict_round_trips_through_json(result):
    data = json.loads(result.to_json())
    assert data["keypoint_set"] == "coco17" and data["keypoint_names"] == list(COCO17.keypoints)
    assert data["image_size"] == {"height": result.image_size[0], "width": result.image_size[1]}
    first = data["poses"][0]["keypoints"][0]
    assert set(first) == {"name", "x", "y", "score", "xn", "yn"} and first["name"] == "nose"
    back = Result.from_dict(data)
    assert back.keypoint_set is COCO17 and back.image is None and back.source == result.source
    np.testing.assert_allclose(back.keypoints, result.keypoints, atol=1e-3)
    np.testing.assert_allclose(back.scores, result.scores, atol=1e-6)
    exact = Result.from_dict(json.loads(result.to_json(decimals=None)))
    np.testing.assert_array_equal(exact.keypoints, result.keypoints)
    # one pose alone carries its own context
    pose = Pose.from_dict(json.loads(result[0].to_json()))
    assert pose.keypoint_set is COCO17 and pose.image_size == result.image_size
    np.testing.assert_allclose(pose.keypoints, result[0].keypoints, atol=1e-3)
    np.testing.assert_allclose([p.box for p in back], [p.box for p in result], atol=1e-3)


def test_pose_dict_without_a_known_set_keeps_its_names():
    kp = np.array([[10, 20, 0.9], [30, 40, 0.5]], np.float32)
    pose = Pose(kp, 0.7, (10.0, 20.0, 20.0, 20.0), track_id=4)
    assert pose.names == ("kpt_0", "kpt_1") and "image_size" not in pose.to_dict()
    data = pose.to_dict()
    data["keypoints"][0]["name"], data["keypoints"][1]["name"] = "head", "neck"
    back = Pose.from_dict(json.loads(json.dumps(data)))
    assert back.names == ("head", "neck") and back.track_id == 4 and back.keypoint_set.limbs == ()
    with pytest.raises(ValueError, match="2 keypoints for keypoint set crowdpose14"):
        Pose.from_dict(data, keypoint_set=CROWDPOSE14)
    with pytest.raises(ValueError, match="image size is unknown"):
        pose.normalized()
    with pytest.raises(ValueError, match="missing or malformed field 'keypoint_names'"):
        Result.from_dict({"image_size": {"height": 2, "width": 2}, "poses": []})


def test_normalised_coordinates(result):
    h, w = result.image_size
    norm = result.normalized()
    kp = result.keypoints
    inside = (kp[..., 0] >= -0.5) & (kp[..., 0] <= w - 0.5) & (kp[..., 1] >= -0.5) & (kp[..., 1] <= h - 0.5)
    assert inside.any()
    assert (norm[inside][:, :2] >= 0).all() and (norm[inside][:, :2] <= 1).all()
    np.testing.assert_allclose(norm[..., 0], (kp[..., 0] + 0.5) / w, rtol=1e-6)
    np.testing.assert_allclose(norm[..., 1], (kp[..., 1] + 0.5) / h, rtol=1e-6)
    np.testing.assert_array_equal(norm[..., 2], kp[..., 2])
    # the image edges are 0 and 1 (pixel centres at integers)
    corners = Pose(np.array([[-0.5, -0.5, 1], [w - 0.5, h - 0.5, 1]], np.float32), 1.0, (0, 0, w, h))
    np.testing.assert_allclose(corners.normalized((h, w))[:, :2], [[0, 0], [1, 1]], atol=1e-6)


def test_draw_renders_where_the_poses_are(result):
    image = cv2.imread(str(ASSET))
    out = result.plot()
    assert out.shape == image.shape and out.dtype == np.uint8 and not np.shares_memory(out, result.image)
    changed = (out != image).any(-1)
    assert changed.sum() > 500
    ys, xs = np.nonzero(changed)
    kp = result.keypoints[result.keypoints[..., 2] >= 0.05]
    margin = 10
    assert xs.min() >= kp[:, 0].min() - margin and xs.max() <= kp[:, 0].max() + margin
    assert ys.min() >= kp[:, 1].min() - margin and ys.max() <= kp[:, 1].max() + margin
    np.testing.assert_array_equal(result.draw(image), out)  # the same on a given image of that size
    alone = Result([result[0]], result.keypoint_set, result.image_size)
    np.testing.assert_array_equal(result[0].draw(image), alone.draw(image))
    with pytest.raises(ValueError, match="image is 320x213, the poses are in a 640x426 image"):
        result.draw(cv2.resize(image, (320, 213)))


def test_draw_options_change_the_output(result):
    image = cv2.imread(str(ASSET))
    base = result.draw(image)
    np.testing.assert_array_equal(result.draw(image, kpt_thr=1.0), image)  # nothing scores 1
    thick = result.draw(image, thickness=6)
    assert (thick != image).any(-1).sum() > 1.5 * (base != image).any(-1).sum()
    assert (result.draw(image, show_boxes=True) != base).any()
    assert (result.draw(image, colors="side") != base).any()
    assert ((result.draw(image, radius=0) != image).any(-1).sum() < (base != image).any(-1).sum())
    with pytest.raises(ValueError, match="unknown colour scheme 'rainbow'"):
        result.draw(image, colors="rainbow")


def test_reduced_decode_is_drawn_on_its_own_pixels(estimator, result, tmp_path):
    """A large JPEG decoded at half size: the poses stay in original pixels, plot() scales them."""
    small = PoseEstimator("mobileposenet", backend="torch", max_pixels=100_000).predict_result(ASSET)
    assert small.scale == (2.0, 2.0) and small.image.shape[:2] == (213, 320) and small.image_size == (426, 640)
    out = small.plot()
    assert out.shape == small.image.shape
    ys, xs = np.nonzero((out != small.image).any(-1))
    kp = small.keypoints[small.keypoints[..., 2] >= 0.05]
    assert abs(xs.mean() - ((kp[:, 0] + 0.5) / 2 - 0.5).mean()) < 15
    assert abs(ys.mean() - ((kp[:, 1] + 0.5) / 2 - 0.5).mean()) < 15
    path = small.save(tmp_path / "sub" / "pose.png")
    np.testing.assert_array_equal(cv2.imread(str(path)), out)
    with pytest.raises(ValueError, match="holds no image"):
        Result.from_dict(result.to_dict()).plot()
