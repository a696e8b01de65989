"""Bottom-up samples: the whole image, randomly warped, with multi-resolution targets and ignore masks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.coco import CocoKeypoints
from featherpose.data.image import ImageCache, as_image_cache
from featherpose.data.records import PersonAnnotation
from featherpose.data.sampling import SampleKey, sample_index, sample_rng
from featherpose.data.transforms import (
    Normalisation,
    affine_points,
    color_jitter,
    draw_rotation,
    draw_scale,
    fit_matrix,
    warp_image,
)

MAX_PEOPLE = 30  # associative-embedding ``joints`` are padded / cut to this many persons for batching


@dataclass
class BottomUpAugment:
    """Random whole-image affine.

    ``scale_mode="image"`` (HigherHRNet / LitePose): the whole image is fitted into the input, then
    scaled about its centre by 1 / a draw from ``scale_range`` (> 1 zooms out, < 1 zooms in), rotated
    and shifted by up to ``max_translate`` input pixels.

    ``scale_mode="person"`` (Lightweight OpenPose's reference training, after CMU's OpenPose): one
    labelled person is drawn, the image is scaled so that person's box is ``person_height`` x input
    height x a draw from ``scale_range`` tall (> 1 zooms in), rotated about the person, and the crop
    is centred on the person shifted by up to ``max_translate`` input pixels.
    """

    max_rotation: float = 30.0  # degrees
    scale_range: tuple[float, float] = (0.75, 1.5)  # meaning set by scale_mode
    max_translate: float = 40.0  # input pixels
    flip_prob: float = 0.5
    color: bool = True
    rotation_dist: str = "uniform"  # uniform U(-r, r) | normal N(0, r) clipped to +-2r
    rotation_prob: float = 1.0  # probability of rotating at all (1: no extra draw)
    scale_dist: str = "uniform"  # uniform U(lo, hi) | normal (clipped, see draw_scale)
    scale_mode: str = "image"  # image | person
    person_height: float = 0.6  # person mode: the reference's target_dist (box height / input height)


MIN_PERSON_KEYPOINTS = 5  # person mode picks persons as the reference's label preparation does:
MIN_PERSON_AREA = 32 * 32  # >= 5 labelled keypoints and a box of at least 32 x 32 pixels


def person_boxes(persons: Sequence[PersonAnnotation]) -> np.ndarray:
    """(P, 4) COCO boxes of the persons ``scale_mode="person"`` may centre on: those the reference
    would make a training sample of (>= 5 keypoints, area >= 32^2), else any with a labelled keypoint."""
    main = [p.bbox for p in persons if p.num_visible >= MIN_PERSON_KEYPOINTS and p.area >= MIN_PERSON_AREA]
    boxes = main or [p.bbox for p in persons if p.num_visible > 0]
    return np.asarray(boxes, np.float64).reshape(-1, 4)


def bottomup_matrix(width: int, height: int, input_size: tuple[int, int], augment: BottomUpAugment | None,
                    rng: np.random.Generator | None = None,
                    boxes: np.ndarray | None = None) -> tuple[np.ndarray, bool]:  # fmt: skip
    """Image -> input affine: fit keeping the aspect (top-left, padded) or, when augmenting, a random
    rotation/scale/translation (about the image centre, or about one of ``boxes`` in person mode),
    optionally mirrored. Returns (matrix, flipped)."""
    if augment is None:
        return fit_matrix(width, height, input_size)[0], False
    rng = rng or np.random.default_rng()
    ih, iw = input_size
    person = augment.scale_mode == "person" and boxes is not None and len(boxes) > 0
    if person:
        x, y, bw, bh = (float(v) for v in boxes[int(rng.integers(len(boxes)))])
        f = augment.person_height * ih / max(bh, 1.0) * draw_scale(rng, augment.scale_range, augment.scale_dist)
        c_img = np.array([x + bw / 2.0, y + bh / 2.0])
    else:
        f = min(ih / height, iw / width) / draw_scale(rng, augment.scale_range, augment.scale_dist)
        c_img = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    rotate = augment.rotation_prob >= 1.0 or rng.random() < augment.rotation_prob
    t = np.deg2rad(draw_rotation(rng, augment.max_rotation, augment.rotation_dist)) if rotate else 0.0
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) * f
    shift = rng.uniform(-augment.max_translate, augment.max_translate, 2)
    c_out = np.array([(iw - 1) / 2.0, (ih - 1) / 2.0]) + shift
    m = np.zeros((2, 3))
    m[:, :2] = rot
    m[:, 2] = c_out - rot @ c_img
    flip = bool(rng.random() < augment.flip_prob)
    if flip:
        m = np.array([[-1.0, 0.0, iw - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0, 0, 1]])
    return m.astype(np.float32), flip


def batch_targets(targets: dict, num_keypoints: int, max_people: int = MAX_PEOPLE) -> dict[str, torch.Tensor]:
    """A codec's ``encode`` output as fixed-shape tensors the default collate can stack: OpenPose
    ``heatmaps``/``pafs``/``mask``, or associative-embedding ``heatmaps_i``/``masks_i`` per resolution
    and ``joints`` (max_people, K, 2) zero-padded (extra persons dropped)."""
    if "pafs" in targets:
        return {k: torch.from_numpy(np.asarray(targets[k], np.float32)) for k in ("heatmaps", "pafs", "mask")}
    out: dict[str, torch.Tensor] = {}
    for i, (hm, mk) in enumerate(zip(targets["heatmaps"], targets["masks"], strict=True)):
        out[f"heatmaps_{i}"], out[f"masks_{i}"] = torch.from_numpy(hm), torch.from_numpy(mk)
    joints = np.zeros((max_people, num_keypoints, 2), np.int64)
    j = np.asarray(targets["joints"], np.int64).reshape(-1, num_keypoints, 2)[:max_people]
    joints[: len(j)] = j
    out["joints"] = torch.from_numpy(joints)
    return out


class BottomUpDataset(Dataset):
    """Torch dataset of whole images (with at least one person) for bottom-up models.

    Items: ``image`` (3, H, W) normalised RGB, ``targets`` (the codec's ``encode`` output: e.g.
    OpenPose ``heatmaps``/``pafs``/``mask`` at 1/8, or associative-embedding ``heatmaps``/``masks``
    lists at 1/4 and 1/2 plus ``joints``), ``keypoints`` (P, K, 3) in the input frame, ``mask``
    (H, W) input-frame ignore mask (1 = use, 0 = crowd / unlabeled person) and ``meta``
    (warp, flipped, image_id, image_file). Batch with a custom ``collate_fn`` (persons vary) -- or
    pass ``max_people``: items are then ``image`` plus :func:`batch_targets` (fixed shapes, for training).

    ``images`` is an image folder or an :class:`~featherpose.data.ImageCache`; items are indexed by
    ``index`` or ``(epoch, index)`` and augmentation randomness is ``sample_rng(seed, key)``.
    """

    def __init__(self, annotations: CocoKeypoints, images: str | Path | ImageCache, codec, train: bool = False,
                 augment: BottomUpAugment | None = None, seed: int | None = None,
                 max_people: int | None = None, normalise: Normalisation | None = None) -> None:  # fmt: skip
        self.annotations = annotations
        self.normalise = normalise or Normalisation()
        self.images = as_image_cache(images)
        self.codec = codec
        self.augment = (augment or BottomUpAugment()) if train else None
        self.seed, self.max_people = seed, max_people
        self.records = [r for r in annotations.images if r.persons]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: SampleKey) -> dict:
        rec = self.records[sample_index(key)]
        image = self.images(rec.file_name)
        h, w = image.shape[:2]
        rng = sample_rng(self.seed, key) if self.augment is not None else None
        size = tuple(self.codec.input_size)
        boxes = person_boxes(rec.persons) if self.augment is not None and self.augment.scale_mode == "person" else None
        m, flipped = bottomup_matrix(w, h, size, self.augment, rng, boxes)
        warped = warp_image(image, m, size)
        if self.augment is not None and self.augment.color:
            warped = color_jitter(warped, rng)
        mask = self.annotations.ignore_mask(rec, h, w) if rec.ignore else np.ones((h, w), np.float32)
        mask = warp_image(mask, m, size, border=1.0)
        kset = self.annotations.keypoint_set
        kps = affine_points(rec.keypoints().reshape(-1, kset.num_keypoints, 3), m)
        if flipped:
            kps = kps[:, kset.flip_index]
        kps[kps[..., 2] <= 0, :2] = 0.0
        kps = self.codec.prepare_keypoints(kps, kset)
        targets = self.codec.encode(kps, mask)
        if self.max_people is not None:
            image = self.normalise.tensor(warped)
            return {"image": image, **batch_targets(targets, kset.num_keypoints, self.max_people)}
        return {
            "image": self.normalise.tensor(warped),
            "targets": targets,
            "keypoints": torch.from_numpy(kps),
            "mask": torch.from_numpy(mask),
            "meta": {"warp": m, "flipped": flipped, "image_id": rec.id, "image_file": self.images.path(rec.file_name)},
        }
