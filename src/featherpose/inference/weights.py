"""Loading trained weights: a safetensors file, or a training directory (``DIR/last.safetensors``),
through :mod:`featherpose.engine.checkpoint`. A file written by featherpose describes itself
(:class:`~featherpose.modelfile.ModelMeta`), so :func:`load_model` needs nothing else."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from featherpose.engine.checkpoint import CheckpointError, read_meta
from featherpose.engine.checkpoint import load_weights as _load
from featherpose.modelfile import ModelMeta

WEIGHTS_SUFFIX = ".safetensors"


def resolve_weights(path: str | Path) -> Path:
    """A weights file, or a training directory holding ``last.safetensors``."""
    p = Path(path)
    return p / "last.safetensors" if p.is_dir() else p


def is_weights_file(model: object) -> bool:
    """Is ``model`` a weights path (``*.safetensors``, or a training directory with
    ``last.safetensors``) rather than a registered model name?"""
    if not isinstance(model, str | Path):
        return False
    p = Path(model)
    return p.suffix.lower() == WEIGHTS_SUFFIX or (p.is_dir() and (p / "last.safetensors").is_file())


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights strictly; raises :class:`~featherpose.engine.checkpoint.CheckpointError` (one
    line naming the file) when the file is missing, unreadable or made for another model."""
    return _load(model, resolve_weights(path), strict=True)


def weights_meta(path: str | Path, model: str | None = None) -> ModelMeta | None:
    """The metadata of a weights file (None when it has none). With ``model`` (a registered name),
    a file describing another model fails with one line."""
    p = resolve_weights(path)
    meta = read_meta(p)
    if meta is not None and model is not None and meta.model != model:
        raise CheckpointError(f"checkpoint {p}: does not fit model {model}: it holds {meta.model} weights")
    return meta


def require_meta(path: str | Path) -> ModelMeta:
    """The metadata of a weights file used on its own; a file without it fails with one line saying
    what to pass instead."""
    meta = weights_meta(path)
    if meta is None:
        raise CheckpointError(f"weights {path} carry no featherpose metadata: pass the model name "
                              f"(--model NAME --weights {path})")  # fmt: skip
    return meta


def load_model(path: str | Path, **overrides: object) -> tuple[nn.Module, ModelMeta]:
    """The network a self-describing weights file holds (eval mode), and its metadata."""
    meta = require_meta(path)
    return load_weights(meta.build(**overrides), path).eval(), meta


__all__ = [
    "CheckpointError",
    "is_weights_file",
    "load_model",
    "load_weights",
    "require_meta",
    "resolve_weights",
    "weights_meta",
]
