"""Top-down samples: one person crop per item, with augmentation and heatmap targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.image import ImageCache, as_image_cache
from featherpose.data.records import ImageRecord, PersonAnnotation
from featherpose.data.sampling import SampleKey, sample_index, sample_rng
from featherpose.data.transforms import (
    Normalisation,
    affine_points,
    box_to_center_scale,
    color_jitter,
    draw_rotation,
    draw_scale,
    fix_aspect,
    get_warp_matrix,
    half_body_region,
    warp_image,
)
from featherpose.skeletons import KeypointSet

BOX_PADDING = 1.25  # person box -> crop region


@dataclass
class TopDownAugment:
    """Random augmentation of a top-down sample (HRNet / SimpleBaseline defaults: clipped Gaussians,
    rotation with p = 0.6; :func:`~featherpose.data.transforms.draw_rotation` / ``draw_scale``)."""

    scale_range: tuple[float, float] = (0.65, 1.35)  # crop region scale multiplied by a draw in [lo, hi]
    rotation: float = 40.0  # degrees, applied with rotation_prob
    rotation_prob: float = 0.6
    rotation_dist: str = "normal"  # normal: N(0, r) clipped to +-2r | uniform: U(-r, r)
    scale_dist: str = "normal"  # normal: N(centre, half-width) clipped to the range | uniform: U(lo, hi)
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_keypoints: int = 8  # half-body only with more labelled keypoints than this
    color: bool = True

    def draw_rotation(self, rng: np.random.Generator) -> float:
        """One rotation angle in degrees from ``rotation_dist``."""
        return draw_rotation(rng, self.rotation, self.rotation_dist)

    def draw_scale(self, rng: np.random.Generator) -> float:
        """One crop scale factor from ``scale_dist`` over ``scale_range``."""
        return draw_scale(rng, self.scale_range, self.scale_dist)


def person_center_scale(
    person: PersonAnnotation, aspect_ratio: float, padding: float = BOX_PADDING
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
    padding: float = BOX_PADDING,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Crop one person -> (RGB crop (H, W, 3), keypoints (K, 3) in the crop frame, meta).

    ``augment=None`` is evaluation mode (no randomness); otherwise every random draw comes from
    ``rng``. ``meta['warp']`` is the 2x3 image->crop affine; decoded keypoints go back with
    ``to_image_coords(points, meta['warp'])``.
    """
    ih, iw = input_size
    center, scale = person_center_scale(person, iw / ih, padding)
    kps = person.keypoints.astype(np.float32).copy()
    rot, flip = 0.0, False
    if augment is not None:
        rng = rng or np.random.default_rng()
        a = augment
        if (kps[:, 2] > 0).sum() > a.half_body_min_keypoints and rng.random() < a.half_body_prob:
            region = half_body_region(kps, keypoint_set.keypoints, iw / ih, rng)
            if region is not None:
                center, scale = region
        scale = scale * a.draw_scale(rng)
        if rng.random() < a.rotation_prob:
            rot = a.draw_rotation(rng)
        flip = bool(rng.random() < a.flip_prob)
    m = get_warp_matrix(center, scale, rot, input_size, udp=udp, flip=flip)
    crop = warp_image(image, m, input_size)
    local = affine_points(kps, m)
    if flip:
        local = local[keypoint_set.flip_index]
    local[local[:, 2] <= 0, :2] = 0.0
    if augment is not None and augment.color:
        crop = color_jitter(crop, rng)
    meta = {"center": np.asarray(center, np.float32), "scale": np.asarray(scale, np.float32), "rotation": rot,
            "flipped": flip, "warp": m}  # fmt: skip
    return crop, local, meta


class TopDownDataset(Dataset):
    """Torch dataset of person crops: ``image`` (3, H, W) normalised RGB, ``heatmaps`` (K, h, w),
    ``keypoint_weights`` (K,), ``keypoints`` (K, 3) in the crop frame and ``meta`` (centre, scale,
    rotation, flipped, warp, image_id, ann_id, image_file).

    ``annotations`` is a :class:`~featherpose.data.CocoKeypoints` or :class:`~featherpose.data.MpiiKeypoints`;
    ``images`` an image folder or an :class:`~featherpose.data.ImageCache`; ``codec`` a
    :class:`~featherpose.codecs.HeatmapCodec` (its ``input_size`` and ``udp`` drive the crop). Items
    are indexed by ``index`` or ``(epoch, index)``; augmentation randomness is ``sample_rng(seed, key)``.
    """

    def __init__(self, annotations, images: str | Path | ImageCache, codec, train: bool = False,
                 augment: TopDownAugment | None = None, seed: int | None = None,
                 normalise: Normalisation | None = None) -> None:  # fmt: skip
        self.annotations = annotations
        self.normalise = normalise or Normalisation()
        self.keypoint_set: KeypointSet = annotations.keypoint_set
        self.images = as_image_cache(images)
        self.codec = codec
        self.augment = (augment or TopDownAugment()) if train else None
        self.seed = seed
        self.samples: list[tuple[ImageRecord, PersonAnnotation]] = annotations.person_samples()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: SampleKey) -> dict:
        rec, person = self.samples[sample_index(key)]
        image = self.images(rec.file_name)
        rng = sample_rng(self.seed, key) if self.augment is not None else None
        udp = getattr(self.codec, "udp", False)
        crop, local, meta = topdown_sample(
            image, person, self.keypoint_set, tuple(self.codec.input_size), self.augment, rng, udp=udp
        )
        heatmaps, weights = self.codec.encode(local)
        meta.update(image_id=rec.id, ann_id=person.id, image_file=self.images.path(rec.file_name))
        return {
            "image": self.normalise.tensor(crop),
            "heatmaps": torch.from_numpy(heatmaps),
            "keypoint_weights": torch.from_numpy(weights),
            "keypoints": torch.from_numpy(local),
            "meta": meta,
        }
