"""Bottom-up samples: the whole image, randomly warped, with multi-resolution targets and ignore masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.coco import CocoKeypoints
from featherpose.data.image import ImageCache, as_image_cache
from featherpose.data.sampling import SampleKey, sample_index, sample_rng
from featherpose.data.transforms import Normalisation, affine_points, color_jitter, fit_matrix, warp_image

MAX_PEOPLE = 30  # associative-embedding ``joints`` are padded / cut to this many persons for batching


@dataclass
class BottomUpAugment:
    """Random whole-image affine (HigherHRNet / LitePose style)."""

    max_rotation: float = 30.0  # degrees, U(-r, r)
    scale_range: tuple[float, float] = (0.75, 1.5)  # region size factor: > 1 zooms out, < 1 zooms in
    max_translate: float = 40.0  # input pixels
    flip_prob: float = 0.5
    color: bool = True


def bottomup_matrix(width: int, height: int, input_size: tuple[int, int], augment: BottomUpAugment | None,
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, bool]:  # fmt: skip
    """Image -> input affine: fit keeping the aspect (top-left, padded) or, when augmenting, a random
    rotation/scale/translation about the image centre, optionally mirrored. Returns (matrix, flipped)."""
    if augment is None:
        return fit_matrix(width, height, input_size)[0], False
    rng = rng or np.random.default_rng()
    ih, iw = input_size
    f = min(ih / height, iw / width) / rng.uniform(*augment.scale_range)
    t = np.deg2rad(rng.uniform(-augment.max_rotation, augment.max_rotation))
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) * f
    shift = rng.uniform(-augment.max_translate, augment.max_translate, 2)
    c_img = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
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
        m, flipped = bottomup_matrix(w, h, size, self.augment, rng)
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
