"""Loading trained weights into a built model: a safetensors file, or a training directory
(``DIR/last.safetensors``), through :mod:`featherpose.engine.checkpoint`."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from featherpose.engine.checkpoint import CheckpointError
from featherpose.engine.checkpoint import load_weights as _load


def resolve_weights(path: str | Path) -> Path:
    """A weights file, or a training directory holding ``last.safetensors``."""
    p = Path(path)
    return p / "last.safetensors" if p.is_dir() else p


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load weights strictly; raises :class:`~featherpose.engine.checkpoint.CheckpointError` (one
    line naming the file) when the file is missing, unreadable or made for another model."""
    return _load(model, resolve_weights(path), strict=True)


__all__ = ["CheckpointError", "load_weights", "resolve_weights"]
