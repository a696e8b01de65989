"""Self-describing model files: what a weights file (or an export) must carry to be used alone.

One versioned schema, :class:`ModelMeta`, stored as JSON under the key ``"featherpose"`` in the
metadata of every safetensors file featherpose writes (training ``last`` / ``best``, shipped
weights) and inside every ONNX / OpenVINO export (with a few export-only fields, see
:class:`featherpose.deploy.files.ExportInfo`)::

    {"schema": 1, "model": "mobileposenet", "model_args": {"num_keypoints": 14},
     "family": "mobileposenet", "paradigm": "top-down",
     "keypoint_set": {"name", "keypoints", "limbs" (0-based), "flip_pairs", "sigmas" | null},
     "codec": {"name": "heatmap-dark", "args": {"input_size": [128, 96], "sigma": 1.0}},
     "input_size": [128, 96],
     "normalisation": {"mean": [...], "std": [...], "order": "RGB" | "BGR"},
     "provenance": {"recipe": "configs/x.yaml", "data": "...", "epochs": 3, "step": 120,
                    "score": 0.41 | null, "metric": "AP" | "PCKh" | null, ...free extra keys},
     "test_scale": "fit" | "short_side" | "height"}   (optional, bottom-up; absent: the family's)

The keypoint set is the one the network's outputs follow (OpenPose-18 for the OpenPose family,
whose poses come out as COCO-17), so a model trained on a custom set (LSPET's 14 joints) decodes
and draws with its own skeleton.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from featherpose.data.transforms import Normalisation
from featherpose.preprocess import check_test_scale
from featherpose.skeletons import KEYPOINT_SETS, KeypointSet

if TYPE_CHECKING:
    from torch import nn

    from featherpose.engine.config import TrainConfig
    from featherpose.models import ModelSpec

SCHEMA = 1
META_KEY = "featherpose"
PARADIGMS = ("top-down", "bottom-up")
# codec arguments the inference heads set themselves (never forwarded from a file)
HEAD_OWNED_CODEC_ARGS = frozenset({"input_size", "heatmap_size", "strides", "keypoint_set"})


class ModelMetaError(ValueError):
    """Metadata that cannot be used: the message says what is wrong (one line)."""


def keypoint_set_to_dict(ks: KeypointSet) -> dict:
    """A keypoint set as plain JSON types (0-based limbs and flip pairs)."""
    return {
        "name": ks.name,
        "keypoints": list(ks.keypoints),
        "limbs": [[int(a), int(b)] for a, b in ks.limbs],
        "flip_pairs": [[int(a), int(b)] for a, b in ks.flip_pairs],
        "sigmas": None if ks.sigmas is None else [float(s) for s in ks.sigmas],
    }


def keypoint_set_from_dict(d: Mapping) -> KeypointSet:
    """The inverse of :func:`keypoint_set_to_dict`; a set equal to a built-in one (COCO-17,
    OpenPose-18, ...) comes back as that very object, so identity checks keep working."""
    try:
        sigmas = d.get("sigmas")
        ks = KeypointSet(
            name=str(d["name"]),
            keypoints=tuple(str(n) for n in d["keypoints"]),
            limbs=tuple((int(a), int(b)) for a, b in d.get("limbs", [])),
            flip_pairs=tuple((int(a), int(b)) for a, b in d.get("flip_pairs", [])),
            sigmas=None if sigmas is None else tuple(float(s) for s in sigmas),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelMetaError(f"keypoint_set is malformed ({exc})") from None
    known = KEYPOINT_SETS.get(ks.name)
    return known if known is not None and known == ks else ks


def _json_safe(value: object) -> object:
    """Tuples -> lists, recursively; anything JSON cannot hold raises ModelMetaError."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ModelMetaError(f"value {value!r} cannot be stored in model metadata")


def default_codec(spec: ModelSpec) -> str:
    """The codec a registered model decodes with when nothing says otherwise."""
    if spec.paradigm == "top-down":
        return "heatmap"
    return "openpose" if spec.family == "openpose" or spec.keypoints == "openpose18" else "ae-multires"


@dataclass(frozen=True)
class ModelMeta:
    """Everything needed to use a weights file: build the network, feed it, decode it, draw it."""

    model: str  # registered model name (featherpose.list_models())
    paradigm: str  # "top-down" | "bottom-up"
    keypoint_set: KeypointSet  # what the network's outputs follow
    codec: str  # a name from featherpose.codecs.CODECS
    input_size: tuple[int, int]  # (H, W) the network was trained / traced at
    normalisation: Normalisation = field(default_factory=Normalisation)
    model_args: dict = field(default_factory=dict)  # builder overrides (num_keypoints, ...)
    family: str = ""
    codec_args: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    schema: int = SCHEMA
    test_scale: str = ""  # bottom-up test scale (featherpose.preprocess.TEST_SCALES); "" = the family's

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The schema-1 JSON object (see the module docstring)."""
        return {
            "schema": self.schema,
            "model": self.model,
            "model_args": _json_safe(self.model_args),
            "family": self.family,
            "paradigm": self.paradigm,
            "keypoint_set": keypoint_set_to_dict(self.keypoint_set),
            "codec": {"name": self.codec, "args": _json_safe(self.codec_args)},
            "input_size": [int(v) for v in self.input_size],
            "normalisation": self.normalisation.to_dict(),
            "provenance": _json_safe(self.provenance),
            **({"test_scale": self.test_scale} if self.test_scale else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping) -> ModelMeta:
        """Validate and read a schema object; raises :class:`ModelMetaError` (one line)."""
        if not isinstance(d, Mapping):
            raise ModelMetaError("metadata is not a JSON object")
        schema = d.get("schema")
        if not isinstance(schema, int) or schema < 1:
            raise ModelMetaError(f"metadata has no valid schema version (got {schema!r})")
        if schema > SCHEMA:
            raise ModelMetaError(f"metadata schema {schema} is newer than this featherpose reads ({SCHEMA}): upgrade")
        missing = [k for k in ("model", "paradigm", "keypoint_set", "codec", "input_size", "normalisation")
                   if k not in d]  # fmt: skip
        if missing:
            raise ModelMetaError(f"metadata lacks {', '.join(missing)}")
        if d["paradigm"] not in PARADIGMS:
            raise ModelMetaError(f"metadata paradigm must be one of {PARADIGMS}, got {d['paradigm']!r}")
        codec = d["codec"]
        try:
            name, args = (codec, {}) if isinstance(codec, str) else (str(codec["name"]), dict(codec.get("args") or {}))
            h, w = (int(v) for v in d["input_size"])
            norm = Normalisation.from_dict(d["normalisation"])
            test_scale = str(d.get("test_scale") or "")
            if test_scale:
                check_test_scale(test_scale)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMetaError(f"metadata is malformed ({type(exc).__name__}: {exc})") from None
        return cls(
            model=str(d["model"]), paradigm=str(d["paradigm"]), keypoint_set=keypoint_set_from_dict(d["keypoint_set"]),
            codec=name, input_size=(h, w), normalisation=norm, model_args=dict(d.get("model_args") or {}),
            family=str(d.get("family", "")), codec_args=args, provenance=dict(d.get("provenance") or {}),
            schema=schema, test_scale=test_scale,
        )  # fmt: skip

    @classmethod
    def from_json(cls, text: str) -> ModelMeta:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise ModelMetaError(f"metadata is not valid JSON ({exc})") from None
        return cls.from_dict(data)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def for_model(
        cls,
        name: str,
        net: nn.Module | None = None,
        input_size: tuple[int, int] | None = None,
        keypoint_set: KeypointSet | None = None,
        codec: str | None = None,
        codec_args: Mapping | None = None,
        model_args: Mapping | None = None,
        provenance: Mapping | None = None,
    ) -> ModelMeta:
        """The metadata of registered model ``name`` from its zoo entry, each field overridable
        (normalisation read from ``net`` when given)."""
        from featherpose.models import get_spec

        spec = get_spec(name)
        size = tuple(int(v) for v in (input_size or spec.input_size))
        return cls(
            model=name, paradigm=spec.paradigm, keypoint_set=keypoint_set or spec.keypoint_set,
            codec=codec or default_codec(spec), input_size=size,  # type: ignore[arg-type]
            normalisation=Normalisation.for_model(net) if net is not None else Normalisation(),
            model_args=dict(model_args or {}), family=spec.family, codec_args=dict(codec_args or {}),
            provenance=dict(provenance or {}),
        )  # fmt: skip

    def with_provenance(self, **items: object) -> ModelMeta:
        """A copy with provenance keys added or replaced."""
        return replace(self, provenance={**self.provenance, **items})

    # -- use -----------------------------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        """The zoo entry of :attr:`model` (its default input size replaced by this file's)."""
        from featherpose.models import get_spec

        return replace(get_spec(self.model), input_size=tuple(self.input_size))

    def build(self, **overrides: object) -> nn.Module:
        """The network, built with this file's builder overrides (random weights)."""
        from featherpose.models import get_spec

        return get_spec(self.model).build(**{**self.model_args, **overrides})

    def head_codec_args(self) -> dict:
        """The codec arguments an inference head may forward (the ones it does not set itself)."""
        return {k: v for k, v in self.codec_args.items() if k not in HEAD_OWNED_CODEC_ARGS}

    def make_codec(self, input_size: tuple[int, int] | None = None) -> Any:
        """The codec, at ``input_size`` (default: this file's), knowing the keypoint set."""
        from featherpose.codecs import get_codec

        args: dict[str, Any] = {**self.codec_args, "input_size": tuple(input_size or self.input_size)}
        codec = get_codec(self.codec, **args)
        if hasattr(codec, "keypoint_set"):
            codec.keypoint_set = self.keypoint_set
        return codec


def training_meta(cfg: TrainConfig, keypoint_set: KeypointSet, codec: object, net: nn.Module) -> ModelMeta:
    """The metadata of a model being trained from ``cfg``: builder overrides as the trainer applies
    them, the codec's keypoint set (the dataset's, or OpenPose-18), the codec with its arguments,
    the model's normalisation and the provenance (recipe, data); add epochs / step / score with
    :meth:`ModelMeta.with_provenance`."""
    from featherpose.engine.build import model_args, model_spec

    spec = model_spec(cfg.model.name)
    synthetic = cfg.data.type == "synthetic"
    provenance = {
        "recipe": cfg.path or "",
        "data": "synthetic" if synthetic else str(cfg.data_path(cfg.data.train_ann)),
        "data_root": "" if synthetic else str(cfg.data.root),
        "metric": None if synthetic else ("PCKh" if cfg.data.type == "mpii" else "AP"),
    }
    return ModelMeta(
        model=cfg.model.name, paradigm=spec.paradigm,
        keypoint_set=getattr(codec, "keypoint_set", None) or keypoint_set,
        codec=cfg.codec.name, input_size=(int(cfg.input_size[0]), int(cfg.input_size[1])),
        normalisation=Normalisation.for_model(net), model_args=model_args(cfg, keypoint_set), family=spec.family,
        codec_args={"input_size": [int(v) for v in cfg.input_size], **cfg.codec.args}, provenance=provenance,
    )  # fmt: skip


__all__ = [
    "META_KEY",
    "SCHEMA",
    "ModelMeta",
    "ModelMetaError",
    "default_codec",
    "keypoint_set_from_dict",
    "keypoint_set_to_dict",
    "training_meta",
]
