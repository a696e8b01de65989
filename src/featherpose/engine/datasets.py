"""Config -> data glue for the engine: annotation files, image folders and training datasets.

The samples themselves are built by :mod:`featherpose.data` (:class:`~featherpose.data.TopDownDataset`,
:class:`~featherpose.data.BottomUpDataset`, :class:`~featherpose.data.SyntheticDataset`). The engine
indexes them with keys ``(epoch, index)`` (:class:`featherpose.engine.sampler.EpochBatchSampler`), so
every sample's augmentation comes from ``np.random.default_rng([seed, epoch, index])``
(:func:`featherpose.data.sampling.sample_rng`) and resume is bit-exact.
"""

from __future__ import annotations

from pathlib import Path

from featherpose.data.bottomup import BottomUpAugment
from featherpose.data.coco import CocoKeypoints
from featherpose.data.mpii import MpiiKeypoints
from featherpose.data.topdown import TopDownAugment
from featherpose.engine.config import AugmentConfig, TrainConfig
from featherpose.skeletons import COCO17, KeypointSet


def load_annotations(cfg: TrainConfig, split: str) -> CocoKeypoints | MpiiKeypoints:
    """The annotation file of ``split`` (train | val) of a coco / mpii config."""
    ann = cfg.data.train_ann if split == "train" else cfg.data.val_ann
    path = cfg.data_path(ann)
    return MpiiKeypoints(path) if cfg.data.type == "mpii" else CocoKeypoints(path)


def image_folder(cfg: TrainConfig, split: str) -> Path:
    """The image folder of ``split`` (train | val)."""
    return cfg.data_path(cfg.data.train_images if split == "train" else cfg.data.val_images)


def topdown_augment(aug: AugmentConfig) -> TopDownAugment:
    """The config's augmentation for person crops (distributions and probabilities from the recipe)."""
    return TopDownAugment(
        scale_range=tuple(aug.scale), rotation=aug.rotation,
        rotation_prob=aug.rotation_prob if aug.rotation > 0 else 0.0, rotation_dist=aug.rotation_dist,
        scale_dist=aug.scale_dist, flip_prob=aug.flip_prob if aug.flip else 0.0,
        half_body_prob=aug.half_body_prob, color=aug.color,
    )  # fmt: skip


def bottomup_augment(aug: AugmentConfig) -> BottomUpAugment:
    """The config's augmentation for whole images (distributions and probabilities from the recipe)."""
    return BottomUpAugment(max_rotation=aug.rotation, scale_range=tuple(aug.scale), max_translate=aug.translate,
                           flip_prob=aug.flip_prob if aug.flip else 0.0, color=aug.color,
                           rotation_dist=aug.rotation_dist, rotation_prob=aug.rotation_prob,
                           scale_dist=aug.scale_dist, scale_mode=aug.scale_mode,
                           person_height=aug.person_height)  # fmt: skip


def dataset_keypoint_set(cfg: TrainConfig) -> KeypointSet:
    """The keypoint set the training annotations declare (COCO-17 for synthetic data)."""
    if cfg.data.type == "synthetic":
        return COCO17
    return load_annotations(cfg, "train").keypoint_set
