"""Augmentation distributions per reference: HRNet's clipped Gaussians with rotation p 0.6, LitePose's
uniform draws, and Lightweight OpenPose's person-centred scale with flips that swap limbs before the
PAFs are drawn."""

from __future__ import annotations

import numpy as np
import pytest

from featherpose.codecs import get_codec
from featherpose.data import BottomUpDataset, CocoKeypoints, TopDownAugment, read_image, topdown_sample
from featherpose.data.bottomup import BottomUpAugment, bottomup_matrix, person_boxes
from featherpose.data.transforms import affine_points, draw_rotation, draw_scale
from featherpose.skeletons import COCO17

N = 20000


def test_normal_rotation_is_hrnets_clipped_gaussian() -> None:
    rng = np.random.default_rng(0)
    r = np.array([draw_rotation(rng, 45.0, "normal") for _ in range(N)])
    assert np.abs(r).max() == 90.0  # clipped to +-2 x factor, and the clip is reached
    assert np.mean(np.abs(r) > 45) == pytest.approx(0.3173, abs=0.015)  # P(|z| > 1)
    assert np.mean(np.abs(r) == 90) == pytest.approx(0.0455, abs=0.006)  # P(|z| >= 2) lands on the clip
    u = np.array([draw_rotation(rng, 45.0, "uniform") for _ in range(N)])
    assert np.abs(u).max() <= 45 and u.std() == pytest.approx(45 / np.sqrt(3), rel=0.03)
    with pytest.raises(ValueError, match="rotation distribution"):
        draw_rotation(rng, 45.0, "laplace")


def test_normal_scale_is_hrnets_clipped_gaussian() -> None:
    rng = np.random.default_rng(1)
    s = np.array([draw_scale(rng, (0.65, 1.35), "normal") for _ in range(N)])
    assert s.min() == 0.65 and s.max() == 1.35 and s.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean((s == 0.65) | (s == 1.35)) == pytest.approx(0.3173, abs=0.015)  # clip(randn * 0.35 + 1)
    u = np.array([draw_scale(rng, (0.75, 1.5), "uniform") for _ in range(N)])
    assert u.min() >= 0.75 and u.max() <= 1.5 and u.mean() == pytest.approx(1.125, abs=0.01)


def test_topdown_rotates_with_probability_0_6(coco_mini) -> None:
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_train2017.json")
    rec, person = data.person_samples()[0]
    image = read_image(coco_mini / "train2017" / rec.file_name)
    aug = TopDownAugment(rotation=45, rotation_prob=0.6, half_body_prob=0.0, color=False)
    rng = np.random.default_rng(2)
    draws = [topdown_sample(image, person, COCO17, (64, 48), aug, rng)[2] for _ in range(400)]
    rotated = np.array([m["rotation"] != 0.0 for m in draws])
    assert rotated.mean() == pytest.approx(0.6, abs=0.08)
    scales = np.array([m["scale"][1] for m in draws])
    assert scales.max() / scales.min() == pytest.approx(1.35 / 0.65, rel=1e-3)  # the clip is reached


def test_person_mode_scales_and_centres_the_person() -> None:
    """Rotation, translation and flip off: the chosen box's centre lands on the input centre and its
    height becomes person_height x input height x the scale draw (the reference's target_dist)."""
    aug = BottomUpAugment(max_rotation=0, scale_range=(0.8, 0.8), max_translate=0, flip_prob=0, color=False,
                          scale_mode="person", person_height=0.6)  # fmt: skip
    box = np.array([[100.0, 50.0, 40.0, 120.0]])
    m, flipped = bottomup_matrix(640, 480, (368, 368), aug, np.random.default_rng(0), box)
    top, bottom = affine_points(np.array([[120.0, 50.0], [120.0, 170.0]]), m)
    assert not flipped
    np.testing.assert_allclose((top + bottom) / 2, [183.5, 183.5], atol=1e-3)
    assert bottom[1] - top[1] == pytest.approx(0.6 * 368 * 0.8, rel=1e-5)
    plain = BottomUpAugment(scale_range=(0.8, 0.8), max_rotation=0, max_translate=0, flip_prob=0, color=False)
    image_mode = bottomup_matrix(640, 480, (368, 368), plain, np.random.default_rng(0), box)[0]
    assert not np.allclose(image_mode, m)  # the whole image is fitted instead


def test_person_mode_picks_the_references_main_persons(coco_mini) -> None:
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_train2017.json")
    rec = max(data.images, key=lambda r: len(r.persons))
    boxes = person_boxes(rec.persons)
    main = [p for p in rec.persons if p.num_visible >= 5 and p.area >= 32 * 32]
    assert len(boxes) == (len(main) or sum(p.num_visible > 0 for p in rec.persons)) > 0


def test_flip_swaps_limbs_before_the_pafs_are_drawn(coco_mini) -> None:
    """A flipped training sample's PAFs and heatmaps equal the unflipped sample's, mirrored with
    left/right limbs swapped and x negated (codec.unflip) -- the same draws otherwise."""
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_train2017.json")
    codec = get_codec("openpose", input_size=(256, 256), paf_width=1.0)
    items = []
    for flip_prob in (1.0, 0.0):
        aug = BottomUpAugment(max_rotation=40, scale_range=(0.5, 1.1), max_translate=40, flip_prob=flip_prob,
                              color=False, scale_mode="person")  # fmt: skip
        ds = BottomUpDataset(data, coco_mini / "train2017", codec, train=True, augment=aug, seed=3)
        idx = max(range(len(ds.records)), key=lambda i: sum(p.num_visible for p in ds.records[i].persons))
        items.append(ds[(0, idx)])
    flipped, plain = (it["targets"] for it in items)
    assert items[0]["meta"]["flipped"] and not items[1]["meta"]["flipped"]
    assert np.abs(plain["pafs"]).sum() > 0  # the person's limbs are in view
    back = codec.unflip({"heatmaps": flipped["heatmaps"][None], "pafs": flipped["pafs"][None]})
    for key in ("heatmaps", "pafs"):
        mirrored = back[key][0][..., ::-1]
        err = np.abs(mirrored - plain[key]).sum() / np.abs(plain[key]).sum()
        assert err < 1e-3, (key, err)
    no_swap = -flipped["pafs"][..., ::-1]  # mirrored without swapping left and right limbs
    wrong = np.abs(no_swap - plain["pafs"]).sum() / np.abs(plain["pafs"]).sum()
    assert wrong > 0.5
