"""Build the four parts of a model family from a config: model, codec, loss (and the datasets), plus
the optimiser and the learning-rate schedule."""

from __future__ import annotations

import importlib
import math
import pkgutil

import torch
from torch import nn

from featherpose.codecs import Codec, get_codec
from featherpose.data import BottomUpDataset, ImageCache, SyntheticDataset, TopDownDataset
from featherpose.data.bottomup import MAX_PEOPLE
from featherpose.data.transforms import Normalisation
from featherpose.engine.config import TrainConfig
from featherpose.engine.datasets import bottomup_augment, image_folder, load_annotations, topdown_augment
from featherpose.engine.param_groups import param_groups
from featherpose.losses import AssociativeEmbeddingLoss, OpenPoseLoss, TopDownHeatmapLoss
from featherpose.models import ModelSpec, get_spec
from featherpose.skeletons import KeypointSet


def model_spec(name: str) -> ModelSpec:
    """The zoo entry of ``name``; imports every ``featherpose.models`` module first, so models
    register even while the package ``__init__`` does not import their family yet."""
    try:
        return get_spec(name)
    except ValueError:
        import featherpose.models as pkg

        for mod in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"featherpose.models.{mod.name}")
        return get_spec(name)


def model_args(cfg: TrainConfig, kset: KeypointSet) -> dict:
    """The builder overrides of the config's model: ``model.args``, plus ``num_keypoints`` following
    the dataset when it differs from the spec's."""
    spec = model_spec(cfg.model.name)
    args = dict(cfg.model.args)
    if cfg.loss.type != "openpose" and "num_keypoints" not in args:
        if spec.keypoint_set.num_keypoints != kset.num_keypoints:
            args["num_keypoints"] = kset.num_keypoints
    return args


def build_model_from_config(cfg: TrainConfig, kset: KeypointSet) -> nn.Module:
    """The config's model; ``num_keypoints`` follows the dataset when it differs from the spec's.
    (A model by name: :func:`featherpose.build_model`, i.e. :func:`featherpose.models.zoo.build_model`.)"""
    return model_spec(cfg.model.name).build(**model_args(cfg, kset))


def build_codec(cfg: TrainConfig, kset: KeypointSet) -> Codec:
    """The config's codec at the config's input size, following the dataset's keypoint set where the
    codec takes one (heatmaps, AE; OpenPose keeps OpenPose-18) unless the config names one."""
    args = {"input_size": tuple(cfg.input_size), **cfg.codec.args}
    codec = get_codec(cfg.codec.name, **args)
    if "keypoint_set" not in cfg.codec.args:
        codec.adopt_keypoint_set(kset)
    return codec


def build_loss(cfg: TrainConfig, kset: KeypointSet) -> nn.Module:
    lc = cfg.loss
    if lc.type == "heatmap":
        return TopDownHeatmapLoss(lc.weighted, lc.tau, lc.heatmap_factor)
    if lc.type == "ae":
        return AssociativeEmbeddingLoss(
            kset.num_keypoints, lc.weighted, lc.tau, lc.heatmap_factor, lc.pull_factor, lc.push_factor
        )
    return OpenPoseLoss()


def build_train_dataset(
    cfg: TrainConfig, codec: object, seed: int, normalise: Normalisation | None = None
) -> torch.utils.data.Dataset:
    """Training samples (:mod:`featherpose.data`), indexed by ``(epoch, index)`` keys: person crops
    (top-down codec) or whole images (bottom-up codecs), normalised as the model wants
    (``normalise``: :meth:`Normalisation.for_model`; ImageNet RGB when None)."""
    if cfg.data.type == "synthetic":
        return SyntheticDataset(cfg.data.synthetic_size, codec, cfg.input_size, seed)
    ann = load_annotations(cfg, "train")
    images = ImageCache(image_folder(cfg, "train"), keep=cfg.data.cache_images)
    if codec.paradigm == "top-down":
        return TopDownDataset(ann, images, codec, train=True, augment=topdown_augment(cfg.augmentation), seed=seed,
                              normalise=normalise)
    if cfg.data.type != "coco":
        raise ValueError(f"bottom-up training needs COCO-format data, not {cfg.data.type!r}")
    return BottomUpDataset(ann, images, codec, train=True, augment=bottomup_augment(cfg.augmentation), seed=seed,
                           max_people=MAX_PEOPLE, normalise=normalise)  # fmt: skip


def build_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    oc = cfg.optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if oc.param_groups:  # per-group rates / decay (e.g. Lightweight OpenPose's reference trainer)
        params = param_groups(model, oc.param_groups, oc.lr, oc.weight_decay)
    if oc.type == "adam":
        return torch.optim.Adam(params, lr=oc.lr, betas=oc.betas, weight_decay=oc.weight_decay)
    if oc.type == "adamw":
        return torch.optim.AdamW(params, lr=oc.lr, betas=oc.betas, weight_decay=oc.weight_decay)
    return torch.optim.SGD(params, lr=oc.lr, momentum=oc.momentum, weight_decay=oc.weight_decay)


class StepSchedule:
    """Learning-rate factor of a global step: linear warm-up, then x ``gamma`` at every milestone epoch
    (``step``), or a cosine from 1 to ``min_ratio`` over all ``epochs`` (``cosine``).

    A plain callable object so that ``LambdaLR.state_dict`` stays loadable with ``weights_only``."""

    def __init__(self, cfg: TrainConfig, steps_per_epoch: int) -> None:
        sc = cfg.schedule
        self.milestones = list(sc.milestones) if sc.type == "step" else []
        self.gamma, self.warmup, self.ratio = sc.gamma, sc.warmup_steps, sc.warmup_ratio
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.cosine, self.min_ratio = sc.type == "cosine", sc.min_ratio
        self.total = max(1, cfg.epochs * self.steps_per_epoch)

    def __call__(self, step: int) -> float:
        epoch = step // self.steps_per_epoch
        factor = self.gamma ** sum(1 for m in self.milestones if epoch >= m)
        if self.cosine:
            t = min(1.0, step / self.total)
            factor = self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))
        if step < self.warmup:
            factor *= self.ratio + (1.0 - self.ratio) * step / self.warmup
        return factor


def build_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """A per-step :class:`torch.optim.lr_scheduler.LambdaLR` following :class:`StepSchedule`."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, StepSchedule(cfg, steps_per_epoch))
