"""Training datasets for the engine: top-down person crops and bottom-up whole images, built from
the annotation loaders (``featherpose.data``), the transforms and a codec.

Reproducibility: every sample is addressed by a key ``(epoch, index)`` (see
:class:`featherpose.engine.sampler.EpochBatchSampler`) and draws its augmentation from
``np.random.default_rng([seed, epoch, index])``, so the data of a step depends on (seed, epoch,
step) only -- not on worker processes, ranks or where a run was resumed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.coco import CocoKeypoints
from featherpose.data.image import read_image
from featherpose.data.mpii import MpiiKeypoints
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
from featherpose.engine.config import AugmentConfig, TrainConfig
from featherpose.skeletons import COCO17, KeypointSet

BOX_PADDING = 1.25
MAX_PEOPLE = 30  # associative-embedding targets are padded to this many persons


class ImageCache:
    """Reads images by file name from a folder, optionally keeping them decoded in memory."""

    def __init__(self, folder: str | Path, keep: bool = False) -> None:
        self.folder, self.keep = Path(folder), keep
        self._images: dict[str, np.ndarray] = {}

    def __call__(self, name: str) -> np.ndarray:
        img = self._images.get(name)
        if img is None:
            img = read_image(self.folder / name)
            if self.keep:
                self._images[name] = img
        return img


def load_annotations(cfg: TrainConfig, split: str) -> CocoKeypoints | MpiiKeypoints:
    """The annotation file of ``split`` (train | val) of a coco / mpii config."""
    ann = cfg.data.train_ann if split == "train" else cfg.data.val_ann
    path = cfg.data_path(ann)
    return MpiiKeypoints(path) if cfg.data.type == "mpii" else CocoKeypoints(path)


def image_folder(cfg: TrainConfig, split: str) -> Path:
    return cfg.data_path(cfg.data.train_images if split == "train" else cfg.data.val_images)


def person_center_scale(person: PersonAnnotation, aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Crop centre and (w, h) scale of a person: MPII's centre/size when given, else the padded box."""
    if person.center is not None and person.box_size is not None:
        return np.asarray(person.center, np.float32), fix_aspect((person.box_size, person.box_size), aspect)
    return box_to_center_scale(person.bbox, aspect, BOX_PADDING)


class _Augmenter:
    def __init__(self, aug: AugmentConfig, seed: int) -> None:
        self.aug, self.seed = aug, seed

    def rng(self, key: tuple[int, int]) -> np.random.Generator:
        epoch, index = key
        return np.random.default_rng([self.seed, epoch, index])

    def draw(self, rng: np.random.Generator) -> tuple[float, float, bool]:
        """(scale factor, rotation in degrees, flip) -- always three draws, so streams stay aligned."""
        a = self.aug
        s = rng.uniform(a.scale[0], a.scale[1])
        r = rng.uniform(-a.rotation, a.rotation)
        f = rng.random() < 0.5
        return float(s), float(r), bool(a.flip and f)


class TopDownDataset(Dataset):
    """One sample per labelled person: affine crop at ``input_size`` -> Gaussian heatmaps."""

    def __init__(
        self,
        samples: list[tuple[ImageRecord, PersonAnnotation]],
        images: ImageCache,
        keypoint_set: KeypointSet,
        codec: object,
        input_size: tuple[int, int],
        aug: AugmentConfig,
        seed: int = 0,
    ) -> None:
        self.samples, self.images, self.kset, self.codec = samples, images, keypoint_set, codec
        self.input_size = tuple(input_size)
        self.aspect = self.input_size[1] / self.input_size[0]
        self.augmenter = _Augmenter(aug, seed)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        record, person = self.samples[key[1]]
        rng = self.augmenter.rng(key)
        aug = self.augmenter.aug
        img = self.images(record.file_name)
        center, scale = person_center_scale(person, self.aspect)
        if aug.half_body_prob > 0 and rng.random() < aug.half_body_prob:
            region = half_body_region(person.keypoints, self.kset.keypoints, self.aspect, rng)
            if region is not None:
                center, scale = region
        s, r, flip = self.augmenter.draw(rng)
        m = get_warp_matrix(center, scale * s, r, self.input_size, udp=getattr(self.codec, "udp", False), flip=flip)
        crop = warp_image(img, m, self.input_size)
        if aug.color:
            crop = color_jitter(crop, rng)
        kps = affine_points(person.keypoints, m)
        if flip:
            kps = kps[self.kset.flip_index]
        heatmaps, weights = self.codec.encode(kps)
        return {
            "image": normalize_image(crop),
            "heatmaps": torch.from_numpy(heatmaps),
            "keypoint_weights": torch.from_numpy(weights),
        }


class BottomUpDataset(Dataset):
    """One sample per image: the whole image fitted into ``input_size`` (random scale / rotation /
    shift / flip), encoded by an associative-embedding or OpenPose codec with the ignore mask."""

    def __init__(
        self,
        records: list[ImageRecord],
        annotations: CocoKeypoints,
        images: ImageCache,
        codec: object,
        input_size: tuple[int, int],
        aug: AugmentConfig,
        seed: int = 0,
    ) -> None:
        self.records, self.ann, self.images, self.codec = records, annotations, images, codec
        self.kset = annotations.keypoint_set
        self.input_size = tuple(input_size)
        self.augmenter = _Augmenter(aug, seed)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, object]:
        rec = self.records[key[1]]
        rng = self.augmenter.rng(key)
        aug = self.augmenter.aug
        img = self.images(rec.file_name)
        h, w = img.shape[:2]
        mask = self.ann.ignore_mask(rec, h, w) if rec.ignore else np.ones((h, w), np.float32)
        ih, iw = self.input_size
        s, r, flip = self.augmenter.draw(rng)
        shift = rng.uniform(-aug.translate, aug.translate, size=2)
        scale = fix_aspect((w, h), iw / ih) * s
        center = np.array([(w - 1) / 2.0, (h - 1) / 2.0], np.float32) + shift * scale[0] / iw
        m = get_warp_matrix(center, scale, r, self.input_size, flip=flip)
        crop = warp_image(img, m, self.input_size)
        if aug.color:
            crop = color_jitter(crop, rng)
        mask = warp_image(mask, m, self.input_size, border=1.0)
        kps = rec.keypoints().reshape(-1, self.kset.num_keypoints, 3) if rec.persons else None
        if kps is None:
            kps = np.zeros((0, self.kset.num_keypoints, 3), np.float32)
        kps = affine_points(kps, m)
        if flip:
            kps = kps[:, self.kset.flip_index]
        enc = self.codec.encode(self.codec.prepare_keypoints(kps, self.kset), mask)
        out: dict[str, object] = {"image": normalize_image(crop)}
        if "pafs" in enc:  # OpenPose
            out.update({k: torch.from_numpy(np.asarray(enc[k], np.float32)) for k in ("heatmaps", "pafs", "mask")})
            return out
        for i, (hm, mk) in enumerate(zip(enc["heatmaps"], enc["masks"], strict=True)):
            out[f"heatmaps_{i}"], out[f"masks_{i}"] = torch.from_numpy(hm), torch.from_numpy(mk)
        joints = np.zeros((MAX_PEOPLE, self.kset.num_keypoints, 2), np.int64)
        j = np.asarray(enc["joints"], np.int64)[:MAX_PEOPLE]
        joints[: len(j)] = j
        out["joints"] = torch.from_numpy(joints)
        return out


class SyntheticDataset(Dataset):
    """Random images with random keypoints, encoded by a top-down codec (for engine tests)."""

    def __init__(self, size: int, codec: object, input_size: tuple[int, int], seed: int = 0, num_keypoints: int = 17):
        self.size, self.codec, self.input_size = size, codec, tuple(input_size)
        self.seed, self.k = seed, num_keypoints

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        epoch, index = key
        base = np.random.default_rng([self.seed, index])  # the sample itself is fixed per index
        ih, iw = self.input_size
        img = base.normal(size=(3, ih, iw)).astype(np.float32)
        kps = np.concatenate([base.uniform(0, [iw, ih], size=(self.k, 2)), np.full((self.k, 1), 2.0)], 1)
        if np.random.default_rng([self.seed, epoch, index]).random() < 0.5:  # epoch-dependent "augmentation"
            img = img[:, :, ::-1].copy()
            kps[:, 0] = iw - 1 - kps[:, 0]
        heatmaps, weights = self.codec.encode(kps.astype(np.float32))
        return {"image": torch.from_numpy(img), "heatmaps": torch.from_numpy(heatmaps),
                "keypoint_weights": torch.from_numpy(weights)}  # fmt: skip


def dataset_keypoint_set(cfg: TrainConfig) -> KeypointSet:
    """The keypoint set the training annotations declare (COCO-17 for synthetic data)."""
    if cfg.data.type == "synthetic":
        return COCO17
    return load_annotations(cfg, "train").keypoint_set
