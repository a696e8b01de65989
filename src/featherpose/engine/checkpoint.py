"""Checkpoint IO: model weights as safetensors, resumable training state as a weights-only
``torch.save`` file. Every write is atomic (temp file in the same directory, fsync, os.replace), so
a crash leaves either the old file or the new one, never a torn one; stale temp files from an
interrupted write are removed on the next save.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from featherpose.atomic import atomic_write


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: the message names the file and what is wrong (one line)."""


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DDP / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            inner = getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of the weights and buffers (shared tensors cloned apart)."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in unwrap(model).state_dict().items()}


def save_weights(model: nn.Module, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write the model's state dict as safetensors, atomically."""
    state = model_state(model)
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    return atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file, with a one-line error naming it."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p}: file not found")
    try:
        return load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {p}: not a readable safetensors file ({exc})") from None


def _shape(t: torch.Tensor) -> str:
    return "x".join(str(d) for d in t.shape) or "scalar"


def load_weights(model: nn.Module, path: str | Path, strict: bool = True) -> nn.Module:
    """Load safetensors weights into ``model``; a file for another model fails with one line
    naming the file and the first missing / unexpected / mismatched keys."""
    state = read_weights(path)
    target = unwrap(model).state_dict()
    missing = [k for k in target if k not in state]
    unexpected = sorted(k for k in state if k not in target)
    mismatched = [
        f"{k} ({_shape(state[k])} in file, {_shape(target[k])} in model)"
        for k in target
        if k in state and state[k].shape != target[k].shape
    ]
    problems = []
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches, first: {', '.join(mismatched[:3])}")
    if strict and missing:
        problems.append(f"{len(missing)} missing keys, first: {', '.join(missing[:3])}")
    if strict and unexpected:
        problems.append(f"{len(unexpected)} unexpected keys, first: {', '.join(unexpected[:3])}")
    if problems:
        name = type(unwrap(model)).__name__
        raise CheckpointError(f"checkpoint {path}: does not fit model {name}: {'; '.join(problems)}")
    unwrap(model).load_state_dict({k: v for k, v in state.items() if k in target}, strict=strict)
    return model


def save_state(state: dict, path: str | Path) -> Path:
    """Atomically ``torch.save`` a resumable-state dict (tensors, numbers, strings, lists, dicts)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_state(path: str | Path) -> dict:
    """Load a state written by :func:`save_state` with ``weights_only=True`` (no arbitrary code)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p}: file not found (nothing to resume)")
    try:
        state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        reason = f"{type(exc).__name__}: {exc}".split("\n")[0]
        raise CheckpointError(f"checkpoint {p}: cannot be loaded ({reason})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {p}: expected a dict of training state")
    return state
