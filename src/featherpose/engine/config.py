"""Training configs: typed dataclasses loaded from YAML with strict validation.

Unknown keys and wrong types fail with one line naming the file and the dotted key. Relative paths
inside ``data`` are resolved against the directory of the config file, so a config works from any
working directory; ``--data-root`` overrides ``data.root``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """A config file that cannot be used: the message names the file and the key."""


@dataclass
class ModelConfig:
    """Which zoo model to build, with builder overrides (e.g. ``num_keypoints``), and optionally the
    weights to start from (``init``: a safetensors file, or ``MODEL`` / ``MODEL:TAG`` for shipped ones)."""

    name: str = ""
    args: dict = field(default_factory=dict)
    init: str = ""


@dataclass
class DataConfig:
    """Where the data lives. ``type``: coco | mpii | synthetic (random images, for tests)."""

    type: str = "coco"
    root: str = ""
    train_ann: str = "annotations/person_keypoints_train2017.json"
    train_images: str = "train2017"
    val_ann: str = "annotations/person_keypoints_val2017.json"
    val_images: str = "val2017"
    cache_images: bool = False  # keep decoded images in memory (small datasets)
    workers: int = 0
    synthetic_size: int = 16  # number of samples of the synthetic dataset


@dataclass
class AugmentConfig:
    """Random augmentation of training samples (all off = plain crops). Distributions and
    probabilities per reference: docs/data.md ("Augmentation per recipe")."""

    flip: bool = False
    flip_prob: float = 0.5  # used when flip is true
    rotation: float = 0.0  # degrees: the U(-r, r) bound, or the std of N(0, r) clipped to +-2r
    rotation_dist: str = "uniform"  # uniform | normal (HRNet / SimpleBaseline's ROT_FACTOR)
    rotation_prob: float = 1.0  # probability that a sample is rotated at all (HRNet: 0.6)
    scale: tuple[float, float] = (1.0, 1.0)  # scale factor range (meaning: top-down crop, or scale_mode)
    scale_dist: str = "uniform"  # uniform | normal (centred, half the range as std, clipped: HRNet's SCALE_FACTOR)
    scale_mode: str = "image"  # bottom-up: image (whole image, > 1 zooms out) | person (OpenPose reference)
    person_height: float = 0.6  # scale_mode person: box height / input height before the scale draw
    translate: float = 0.0  # bottom-up: max shift in input pixels
    half_body_prob: float = 0.0  # top-down COCO half-body augmentation
    color: bool = False


@dataclass
class CodecConfig:
    """A codec variant from ``featherpose.codecs.CODECS`` plus constructor overrides."""

    name: str = "heatmap-dark"
    args: dict = field(default_factory=dict)


@dataclass
class LossConfig:
    """``type``: heatmap (top-down), ae (LitePose family), openpose (heatmaps + PAFs).
    ``weighted``: the heatmap-weighted loss of paper 004 (any heatmap model)."""

    type: str = "heatmap"
    weighted: bool = False
    tau: float = 0.01
    heatmap_factor: float = 1.0
    pull_factor: float = 1e-3
    push_factor: float = 1e-3


@dataclass
class OptimizerConfig:
    """Optimiser and its base rate / decay; ``param_groups``: per-group rules (first match wins), each a
    mapping with ``kind`` (conv_weight | depthwise_weight | conv_bias | bn_weight | bn_bias), optional
    ``module`` (parameter-name prefix), ``lr_mult`` and ``weight_decay`` (featherpose.engine.param_groups)."""

    type: str = "adam"  # adam | adamw | sgd
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd only
    betas: tuple[float, float] = (0.9, 0.999)
    param_groups: list[dict] = field(default_factory=list)


@dataclass
class ScheduleConfig:
    """Step decay at ``milestones`` (epochs) by ``gamma``, or cosine annealing over all steps down to
    ``min_ratio`` of the base rate; optional linear warm-up in steps."""

    type: str = "step"  # step | constant | cosine
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    warmup_steps: int = 0
    warmup_ratio: float = 0.001
    min_ratio: float = 0.01  # cosine: final rate / base rate


@dataclass
class EvalConfig:
    flip: bool = False  # flip test during validation
    interval: int = 10  # validate every N epochs (and after the last)
    max_images: int = 0  # 0 = all validation images
    split: str = "val"  # val | train: which annotation file validation scores


@dataclass
class TrainConfig:
    """A complete training recipe (one paper setting)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    input_size: tuple[int, int] = (256, 192)  # (H, W)
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    epochs: int = 1
    batch_size: int = 32  # per process
    seed: int = 0
    log_interval: int = 10  # steps between metrics.jsonl loss lines
    # Forward-pass autocast dtype: auto | fp32 | bf16 | fp16. auto: fp16 on CUDA; on CPU the fastest setting of
    # the model's family whose loss curve matches fp32 (trainer.CPU_AUTO: fp32 for MobilePoseNet / LitePose,
    # bf16 for the others; fp32 on CPUs without bf16 hardware; docs/training.md)
    precision: str = "auto"
    amp: bool = True  # false: no mixed precision anywhere (precision auto -> fp32)
    channels_last: bool | str = "auto"  # true | false | auto (CUDA: true; CPU: per family, as precision)
    paper: str = ""  # free text: which paper / table this recipe reproduces
    path: str = ""  # set by the loader: the file it came from

    def data_path(self, rel: str) -> Path:
        """A data path relative to ``data.root`` (absolute paths pass through)."""
        p = Path(rel)
        return p if p.is_absolute() else Path(self.data.root) / p


CHOICES = {
    "data.type": ("coco", "mpii", "synthetic"),
    "loss.type": ("heatmap", "ae", "openpose"),
    "optimizer.type": ("adam", "adamw", "sgd"),
    "augmentation.rotation_dist": ("uniform", "normal"),
    "augmentation.scale_dist": ("uniform", "normal"),
    "augmentation.scale_mode": ("image", "person"),
    "schedule.type": ("step", "constant", "cosine"),
    "eval.split": ("val", "train"),
    "precision": ("auto", "fp32", "bf16", "fp16"),
}


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _coerce(value: object, tp: object, where: str) -> object:
    """Check ``value`` against the type hint ``tp``; return it converted (lists to tuples etc.)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for alt in args:
            try:
                return _coerce(value, alt, where)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"key {where!r}: expected null, got {_describe(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"key {where!r}: expected true/false, got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"key {where!r}: expected an integer, got {_describe(value)}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"key {where!r}: expected a number, got {_describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"key {where!r}: expected a string, got {_describe(value)}")
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"key {where!r}: expected a list, got {_describe(value)}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"key {where!r}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item = args[0] if args else object
        out = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if tp is dict or origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"key {where!r}: expected a mapping, got {_describe(value)}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    return value


def _build(cls: type, data: object, prefix: str = "") -> object:
    label = prefix or "top level"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"key {label!r}: expected a mapping, got {_describe(data)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "path"}
    kwargs = {}
    for key, value in data.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"unknown key {where!r} (known here: {known})")
        kwargs[key] = _coerce(value, hints[key], where)
        if where in CHOICES and kwargs[key] not in CHOICES[where]:
            raise ConfigError(f"key {where!r}: {kwargs[key]!r} is not one of {', '.join(CHOICES[where])}")
    return cls(**kwargs)


def config_from_dict(data: dict, source: str = "<dict>") -> TrainConfig:
    """Validate a parsed config; errors raise :class:`ConfigError` naming ``source`` and the key."""
    try:
        cfg = _build(TrainConfig, data)
        _check(cfg)
    except ConfigError as exc:
        raise ConfigError(f"config {source}: {exc}") from None
    cfg.path = source
    return cfg


def _check(cfg: TrainConfig) -> None:
    if not cfg.model.name:
        raise ConfigError("key 'model.name' is required")
    for key, value in (("epochs", cfg.epochs), ("batch_size", cfg.batch_size), ("eval.interval", cfg.eval.interval)):
        if value < 1:
            raise ConfigError(f"key {key!r}: must be >= 1, got {value}")
    if min(cfg.input_size) < 8:
        raise ConfigError(f"key 'input_size': too small {cfg.input_size}")
    if cfg.optimizer.lr <= 0:
        raise ConfigError(f"key 'optimizer.lr': must be > 0, got {cfg.optimizer.lr}")
    for key in ("flip_prob", "rotation_prob"):
        value = getattr(cfg.augmentation, key)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"key 'augmentation.{key}': must be in [0, 1], got {value}")
    from featherpose.engine.param_groups import check_rules

    check_rules(cfg.optimizer.param_groups, ConfigError)
    if list(cfg.schedule.milestones) != sorted(cfg.schedule.milestones):
        raise ConfigError("key 'schedule.milestones': must be increasing")
    if isinstance(cfg.channels_last, str) and cfg.channels_last != "auto":
        raise ConfigError(f"key 'channels_last': {cfg.channels_last!r} is not one of true, false, auto")
    if not cfg.amp and cfg.precision in ("bf16", "fp16"):
        raise ConfigError(f"key 'precision': {cfg.precision} needs 'amp: true' (amp: false means fp32)")


def load_config(path: str | Path, data_root: str | Path | None = None) -> TrainConfig:
    """Load and validate a YAML recipe; ``data_root`` overrides ``data.root``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config {p}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"config {p}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config {p}: not valid YAML{where}") from None
    cfg = config_from_dict(data if data is not None else {}, str(p))
    if data_root is not None:
        cfg.data.root = str(data_root)
    elif cfg.data.root and not Path(cfg.data.root).is_absolute():
        cfg.data.root = str((p.resolve().parent / cfg.data.root).resolve())
    return cfg


def config_to_dict(cfg: TrainConfig) -> dict:
    """Plain-dict form of a config (for logging next to the checkpoints)."""
    out = dataclasses.asdict(cfg)
    out.pop("path", None)
    return out
