"""Keyed sampling: an item's augmentation depends on (seed, epoch, index) only (the engine's resume contract)."""

from __future__ import annotations

import numpy as np
import torch

from featherpose.codecs import get_codec
from featherpose.data import BottomUpDataset, CocoKeypoints, ImageCache, TopDownDataset, sample_rng
from featherpose.data.bottomup import MAX_PEOPLE


def test_sample_rng_keys() -> None:
    assert sample_rng(3, 5).random() == np.random.default_rng([3, 5]).random()
    assert sample_rng(3, (2, 5)).random() == np.random.default_rng([3, 2, 5]).random()
    assert sample_rng(3, (2, 5)).random() != sample_rng(3, (1, 5)).random()


def test_topdown_items_follow_epoch_keys(coco_mini) -> None:
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    ds = TopDownDataset(data, ImageCache(coco_mini / "val2017", keep=True), get_codec("heatmap"), train=True, seed=4)
    a, b, c = ds[(0, 2)], ds[(0, 2)], ds[(1, 2)]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["heatmaps"], b["heatmaps"])
    assert not torch.equal(a["image"], c["image"])


def test_bottomup_training_items_have_fixed_shapes(coco_mini) -> None:
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    codec = get_codec("ae-multires", input_size=(128, 128))
    ds = BottomUpDataset(data, coco_mini / "val2017", codec, train=True, seed=0, max_people=MAX_PEOPLE)
    item = ds[(0, 0)]
    assert sorted(item) == ["heatmaps_0", "heatmaps_1", "image", "joints", "masks_0", "masks_1"]
    assert item["joints"].shape == (MAX_PEOPLE, 17, 2) and item["heatmaps_0"].shape == (17, 32, 32)
    assert torch.equal(item["joints"], ds[(0, 0)]["joints"])
