"""Top-down samples: one person crop per item, with augmentation and heatmap targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.image import read_image
from featherpose.data.records import ImageRecord, PersonAnnotation
from featherpose.data.transforms import (
    affine_points,
    box_to_center_scale,
    color_jitter,
    fix_aspect,
    get_warp_matrix,
    half_body_region,
    normalize_image,
    warp_image,
)
from featherpose.skeletons import KeypointSet


@dataclass
class TopDownAugment:
    """Random augmentation of a top-down sample (HRNet / SimpleBaseline defaults)."""

    scale_factor: float = 0.35  # scale multiplied by 1 + U(-f, f)
    rotation: float = 40.0  # degrees, N(0, r) clipped to +-2r, applied with rotation_prob
    rotation_prob: float = 0.6
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_keypoints: int = 8
    color: bool = True


def person_center_scale(
    person: PersonAnnotation, aspect_ratio: float, padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and (w, h) scale of a person's crop: the file's centre/size (MPII) or its padded box."""
    if person.center is not None and person.box_size is not None:
        return np.asarray(person.center, np.float32), fix_aspect((person.box_size, person.box_size), aspect_ratio)
    return box_to_center_scale(person.bbox, aspect_ratio, padding)


def topdown_sample(
    image: np.ndarray,
    person: PersonAnnotation,
    keypoint_set: KeypointSet,
    input_size: tuple[int, int],
    augment: TopDownAugment | None = None,
    rng: np.random.Generator | None = None,
    udp: bool = False,
    padding: float = 1.25,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Crop one person -> (RGB crop (H, W, 3), keypoints (K, 3) in the crop frame, meta).

    ``augment=None`` is evaluation mode (no randomness). ``meta['warp']`` is the 2x3 image->crop
    affine; decoded keypoints go back with ``to_image_coords(points, meta['warp'])``.
    """
    ih, iw = input_size
    center, scale = person_center_scale(person, iw / ih, padding)
    kps = person.keypoints.astype(np.float32).copy()
    rot, flip = 0.0, False
    if augment is not None:
        rng = rng or np.random.default_rng()
        if kps[:, 2].astype(bool).sum() > augment.half_body_min_keypoints and rng.random() < augment.half_body_prob:
            region = half_body_region(kps, keypoint_set.keypoints, iw / ih, rng)
            if region is not None:
                center, scale = region
        scale = scale * (1.0 + rng.uniform(-augment.scale_factor, augment.scale_factor))
        if rng.random() < augment.rotation_prob:
            rot = float(np.clip(rng.normal(0.0, augment.rotation), -2 * augment.rotation, 2 * augment.rotation))
        flip = bool(rng.random() < augment.flip_prob)
    m = get_warp_matrix(center, scale, rot, input_size, udp=udp, flip=flip)
    crop = warp_image(image, m, input_size)
    local = affine_points(kps, m)
    if flip:
        local = local[keypoint_set.flip_index]
    local[local[:, 2] <= 0, :2] = 0.0
    if augment is not None and augment.color:
        crop = color_jitter(crop, rng)
    meta = {"center": center, "scale": scale, "rotation": rot, "flipped": flip, "warp": m}
    return crop, local, meta


class TopDownDataset(Dataset):
    """Torch dataset of person crops: ``image`` (3, H, W) normalised RGB, ``heatmaps`` (K, h, w),
    ``weights`` (K,), ``keypoints`` (K, 3) in the crop frame and ``meta`` (centre, scale, rotation,
    flipped, warp, image_id, ann_id, image_file).

    ``annotations`` is a :class:`~featherpose.data.CocoKeypoints` or :class:`~featherpose.data.MpiiKeypoints`;
    ``codec`` a :class:`~featherpose.codecs.HeatmapCodec` (its ``input_size`` and ``udp`` drive the crop).
    """

    def __init__(self, annotations, image_dir: str | Path, codec, train: bool = False,
                 augment: TopDownAugment | None = None, seed: int | None = None) -> None:  # fmt: skip
        self.annotations = annotations
        self.keypoint_set: KeypointSet = annotations.keypoint_set
        self.image_dir = Path(image_dir)
        self.codec = codec
        self.augment = (augment or TopDownAugment()) if train else None
        self.seed = seed
        self.samples: list[tuple[ImageRecord, PersonAnnotation]] = annotations.person_samples()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        rec, person = self.samples[index]
        path = self.image_dir / rec.file_name
        image = read_image(path)
        rng = np.random.default_rng(None if self.seed is None else (self.seed, index))
        crop, local, meta = topdown_sample(
            image,
            person,
            self.keypoint_set,
            self.codec.input_size,
            self.augment,
            rng,
            udp=getattr(self.codec, "udp", False),
        )
        heatmaps, weights = self.codec.encode(local)
        meta.update(image_id=rec.id, ann_id=person.id, image_file=str(path))
        return {
            "image": normalize_image(crop),
            "heatmaps": torch.from_numpy(heatmaps),
            "weights": torch.from_numpy(weights),
            "keypoints": torch.from_numpy(local),
            "meta": meta,
        }
