"""Augmentation keeps keypoints on the person: warp a marker image the same way and read it back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from featherpose.codecs import get_codec
from featherpose.data import BottomUpDataset, CocoKeypoints, TopDownAugment, TopDownDataset, read_image, topdown_sample
from featherpose.data.bottomup import BottomUpAugment, bottomup_matrix
from featherpose.data.transforms import flip_keypoints
from featherpose.skeletons import COCO17, CROWDPOSE14, MPII16, OPENPOSE18

NO_AUG = dict(scale_range=(1.0, 1.0), rotation_prob=0.0, flip_prob=0.0, half_body_prob=0.0, color=False)
TRANSFORMS = {
    "scale": dict(NO_AUG, scale_range=(0.65, 1.35)),
    "rotation": dict(NO_AUG, rotation_prob=1.0, rotation=40.0),
    "flip": dict(NO_AUG, flip_prob=1.0),
    "half_body": dict(NO_AUG, half_body_prob=1.0, half_body_min_keypoints=0),
    "all": dict(scale_range=(0.65, 1.35), rotation_prob=1.0, flip_prob=1.0, half_body_prob=0.5, color=False),
}


def marker_image(shape: tuple[int, int], keypoints: np.ndarray) -> np.ndarray:
    """Grey image with a disk of value 10 * (j + 1) at every labelled keypoint j."""
    img = np.zeros(shape, np.uint8)
    for j, (x, y, v) in enumerate(keypoints):
        if v > 0:
            cv2.circle(img, (int(round(x)), int(round(y))), 3, 10 * (j + 1), -1)
    return img


def own_marker(markers: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(K,) True where keypoint j's pixel still shows its own marker (not painted over by a neighbour)."""
    xy = np.round(keypoints[:, :2]).astype(int)
    ok = (keypoints[:, 2] > 0) & (xy[:, 0] >= 0) & (xy[:, 1] >= 0)
    ok &= (xy[:, 0] < markers.shape[1]) & (xy[:, 1] < markers.shape[0])
    vals = markers[np.clip(xy[:, 1], 0, markers.shape[0] - 1), np.clip(xy[:, 0], 0, markers.shape[1] - 1)]
    return ok & (vals == 10 * (np.arange(len(keypoints)) + 1))


def warp_nearest(img: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(img, m, (size[1], size[0]), flags=cv2.INTER_NEAREST)


@pytest.mark.parametrize("flip_set", [COCO17, OPENPOSE18, MPII16, CROWDPOSE14])
def test_flip_twice_is_identity(flip_set):
    rng = np.random.default_rng(0)
    kp = np.concatenate(
        [rng.uniform(0, 100, (3, flip_set.num_keypoints, 2)), np.ones((3, flip_set.num_keypoints, 1))], -1
    )
    once = flip_keypoints(kp, 120, flip_set.flip_index)
    assert not np.allclose(once, kp)
    np.testing.assert_allclose(flip_keypoints(once, 120, flip_set.flip_index), kp, atol=1e-4)
    perm = np.array(flip_set.flip_index)
    assert (perm[perm] == np.arange(flip_set.num_keypoints)).all()


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_topdown_transform_keeps_keypoints(coco_mini, tmp_path, name):
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_train2017.json")
    rec, person = max(data.person_samples(), key=lambda s: s[1].num_visible)
    image = read_image(coco_mini / "train2017" / rec.file_name)
    aug = TopDownAugment(**TRANSFORMS[name])
    crop, local, meta = topdown_sample(image, person, data.keypoint_set, (256, 192), aug, np.random.default_rng(3))
    markers = marker_image(image.shape[:2], person.keypoints)
    own = own_marker(markers, person.keypoints)
    png = tmp_path / f"{name}.png"
    cv2.imwrite(str(png), warp_nearest(markers, meta["warp"], (256, 192)))
    cv2.imwrite(str(tmp_path / f"{name}_crop.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    warped = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    src = data.keypoint_set.flip_index if meta["flipped"] else list(range(17))
    checked = 0
    for j, (x, y, v) in enumerate(local):
        if v > 0 and own[src[j]] and 2 <= x < 190 and 2 <= y < 254:
            patch = warped[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2]
            assert 10 * (src[j] + 1) in patch, f"{name}: keypoint {j} is not on its marker"
            checked += 1
    assert checked >= 3
    if name == "flip":
        assert meta["flipped"]
    # pixels at the keypoints agree between image and crop (colour, not just markers)
    if name in ("scale", "flip"):
        vis = (local[:, 2] > 0) & (local[:, 0] > 2) & (local[:, 0] < 189) & (local[:, 1] > 2) & (local[:, 1] < 253)
        orig = person.keypoints[np.array(src)[vis]].astype(int)
        a = image[orig[:, 1], orig[:, 0]].astype(float)
        b = crop[np.round(local[vis, 1]).astype(int), np.round(local[vis, 0]).astype(int)].astype(float)
        assert np.median(np.abs(a - b)) < 40


def test_topdown_dataset_eval_is_deterministic(coco_mini):
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    ds = TopDownDataset(data, coco_mini / "val2017", get_codec("udp"))
    a, b = ds[0], ds[0]
    assert a["image"].shape == (3, 256, 192) and a["heatmaps"].shape == (17, 64, 48)
    assert np.allclose(a["image"].numpy(), b["image"].numpy())
    assert abs(float(a["image"].mean())) < 3.0  # ImageNet-normalised
    w = a["keypoint_weights"].numpy()
    assert set(np.unique(w)) <= {0.0, 1.0}
    assert a["meta"]["image_id"] == ds.samples[0][0].id
    train = TopDownDataset(data, coco_mini / "val2017", get_codec("heatmap"), train=True, seed=1)
    assert train[0]["heatmaps"].shape == (17, 64, 48)


def test_mpii_topdown_sample(mpii_fixtures):
    from featherpose.data import MpiiKeypoints

    data = MpiiKeypoints(mpii_fixtures / "test_mpii.json")
    ds = TopDownDataset(data, mpii_fixtures, get_codec("heatmap", input_size=(256, 256), heatmap_size=(64, 64)))
    item = ds[1]
    assert item["heatmaps"].shape == (16, 64, 64)
    kp = item["keypoints"].numpy()
    vis = kp[:, 2] > 0
    assert ((kp[vis, :2] >= 0) & (kp[vis, :2] < 256)).all()  # the whole person is in the crop


@pytest.mark.parametrize("codec_name", ["ae-multires", "openpose"])
def test_bottomup_sample(coco_mini, tmp_path, codec_name):
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    size = (256, 256) if codec_name.startswith("ae") else (368, 368)
    codec = get_codec(codec_name, input_size=size)
    ds = BottomUpDataset(data, coco_mini / "val2017", codec, train=True, seed=5,
                         augment=BottomUpAugment(flip_prob=1.0, color=False))  # fmt: skip
    idx = next(i for i, r in enumerate(ds.records) if any(a.get("iscrowd") for a in r.ignore))
    item = ds[idx]
    rec = ds.records[idx]
    t = item["targets"]
    if codec_name == "openpose":
        assert t["heatmaps"].shape == (19, 46, 46) and t["pafs"].shape == (38, 46, 46)
    else:
        assert [h.shape for h in t["heatmaps"]] == [(17, 64, 64), (17, 128, 128)]
        assert t["joints"].shape == (len(rec.persons), 17, 2)
    assert item["mask"].min() == 0.0  # the crowd region is ignored
    # markers: the same random warp moves each keypoint onto its marker
    image = read_image(coco_mini / "val2017" / rec.file_name)
    m, flipped = bottomup_matrix(image.shape[1], image.shape[0], size, ds.augment, np.random.default_rng((5, idx)))
    assert flipped and np.allclose(m, item["meta"]["warp"])
    if not codec_name.startswith("ae"):
        return  # OpenPose keypoints are re-ordered; the COCO check below covers the warp
    kps = item["keypoints"].numpy()
    png = tmp_path / "bottomup.png"
    checked = 0
    for p, person in enumerate(rec.persons):
        markers = marker_image(image.shape[:2], person.keypoints)
        own = own_marker(markers, person.keypoints)
        cv2.imwrite(str(png), warp_nearest(markers, m, size))
        warped = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        for j, (x, y, v) in enumerate(kps[p]):
            src = COCO17.flip_index[j]
            if v > 0 and own[src] and 1 <= x < size[1] - 1 and 1 <= y < size[0] - 1:
                patch = warped[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2]
                assert 10 * (src + 1) in patch
                checked += 1
    assert checked >= 5
