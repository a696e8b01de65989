"""Bottom-up samples: the whole image, randomly warped, with multi-resolution targets and ignore masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.coco import CocoKeypoints
from featherpose.data.image import read_image
from featherpose.data.transforms import affine_points, color_jitter, fit_matrix, normalize_image, warp_image


@dataclass
class BottomUpAugment:
    """Random whole-image affine (HigherHRNet / LitePose style)."""

    max_rotation: float = 30.0
    scale_range: tuple[float, float] = (0.75, 1.5)
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
    f = min(ih / height, iw / width) * rng.uniform(*augment.scale_range)
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


class BottomUpDataset(Dataset):
    """Torch dataset of whole images for bottom-up models.

    Items: ``image`` (3, H, W) normalised RGB, ``targets`` (the codec's ``encode`` output: e.g.
    OpenPose ``heatmaps``/``pafs``/``mask`` at 1/8, or associative-embedding ``heatmaps``/``masks``
    lists at 1/4 and 1/2 plus ``joints``), ``keypoints`` (P, K, 3) in the input frame, ``mask``
    (H, W) input-frame ignore mask (1 = use, 0 = crowd / unlabeled person) and ``meta``
    (warp, flipped, image_id, image_file). Batch with a custom ``collate_fn`` (persons vary).
    """

    def __init__(self, annotations: CocoKeypoints, image_dir: str | Path, codec, train: bool = False,
                 augment: BottomUpAugment | None = None, seed: int | None = None) -> None:  # fmt: skip
        self.annotations = annotations
        self.image_dir = Path(image_dir)
        self.codec = codec
        self.augment = (augment or BottomUpAugment()) if train else None
        self.seed = seed
        self.records = [r for r in annotations.images if r.persons]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict:
        rec = self.records[index]
        path = self.image_dir / rec.file_name
        image = read_image(path)
        h, w = image.shape[:2]
        rng = np.random.default_rng(None if self.seed is None else (self.seed, index))
        m, flipped = bottomup_matrix(w, h, self.codec.input_size, self.augment, rng)
        size = self.codec.input_size
        warped = warp_image(image, m, size)
        mask = warp_image(self.annotations.ignore_mask(rec, h, w), m, size, border=1.0)
        kset = self.annotations.keypoint_set
        kps = affine_points(rec.keypoints(), m)
        if flipped:
            kps = kps[:, kset.flip_index]
        kps[kps[..., 2] <= 0, :2] = 0.0
        kps = self.codec.prepare_keypoints(kps, kset)
        targets = self.codec.encode(kps, mask)
        if self.augment is not None and self.augment.color:
            warped = color_jitter(warped, rng)
        return {
            "image": normalize_image(warped),
            "targets": targets,
            "keypoints": torch.from_numpy(kps),
            "mask": torch.from_numpy(mask),
            "meta": {"warp": m, "flipped": flipped, "image_id": rec.id, "image_file": str(path)},
        }
