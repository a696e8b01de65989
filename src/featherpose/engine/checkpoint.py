"""Checkpoint IO: model weights as safetensors, resumable training state as a weights-only
``torch.save`` file. Every write is atomic (temp file in the same directory, fsync, os.replace), so
a crash leaves either the old file or the new one, never a torn one; stale temp files from an
interrupted write are removed on the next save.

Weights files are self-describing: :func:`save_weights` stores a
:class:`~featherpose.modelfile.ModelMeta` as JSON under the metadata key ``"featherpose"``, and
:func:`read_model_file` gives the tensors with it. :func:`ship_weights` writes fp16 tensors (half
the size) for shipping; loading casts every tensor to the dtype of the model it goes into.

This is the one home of weights-file IO: training, inference (``featherpose.inference.weights``
re-exports it) and export read weights here. Wherever a weights path is taken, a training
directory stands for its ``last.safetensors``; :func:`load_model` builds the network a
self-describing file holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from featherpose.atomic import atomic_write

if TYPE_CHECKING:
    from featherpose.modelfile import ModelMeta


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


def save_weights(
    model: nn.Module,
    path: str | Path,
    meta: ModelMeta | dict[str, object] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write the model's state dict as safetensors, atomically. ``meta``: a
    :class:`~featherpose.modelfile.ModelMeta` (stored as JSON under ``"featherpose"``) or plain
    string metadata; ``dtype``: cast floating-point tensors (``torch.float16`` for shipping)."""
    from featherpose.modelfile import META_KEY, ModelMeta

    state = model_state(model)
    if dtype is not None:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    if isinstance(meta, ModelMeta):
        text = {META_KEY: meta.to_json()}
    else:
        text = {str(k): str(v) for k, v in (meta or {}).items()}
    return atomic_write(path, lambda tmp: save_file(state, tmp, metadata=text))


def ship_weights(model: nn.Module, path: str | Path, meta: ModelMeta) -> Path:
    """Write weights for shipping: fp16 tensors (integer buffers kept) with their metadata."""
    return save_weights(model, path, meta, dtype=torch.float16)


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p}: file not found")
    return p


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file, with a one-line error naming it."""
    p = _check_file(path)
    try:
        return load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {p}: not a readable safetensors file ({exc})") from None


def read_meta(path: str | Path) -> ModelMeta | None:
    """The :class:`~featherpose.modelfile.ModelMeta` of a safetensors file (read from its header
    only), or None when it has none; unreadable files and malformed metadata raise
    :class:`CheckpointError` (one line naming the file)."""
    from featherpose.modelfile import META_KEY, ModelMeta, ModelMetaError

    p = _check_file(path)
    try:
        with safe_open(str(p), framework="pt") as fh:
            text = (fh.metadata() or {}).get(META_KEY)
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {p}: not a readable safetensors file ({exc})") from None
    if text is None:
        return None
    try:
        return ModelMeta.from_json(text)
    except ModelMetaError as exc:
        raise CheckpointError(f"checkpoint {p}: {exc}") from None


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


def weights_meta(path: str | Path, model: str | None = None) -> ModelMeta | None:
    """The metadata of a weights file or training directory (None when it has none). With ``model``
    (a registered name), a file describing another model fails with one line."""
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
    """The network a self-describing weights file holds (eval mode, built by its
    :class:`~featherpose.modelfile.ModelMeta` with ``overrides``), and its metadata."""
    meta = require_meta(path)
    return load_weights(meta.build(**overrides), path).eval(), meta


def read_model_file(path: str | Path) -> tuple[dict[str, torch.Tensor], ModelMeta | None]:
    """The tensors of a safetensors file and its metadata (None when the file has none)."""
    meta = read_meta(path)
    return read_weights(path), meta


def _shape(t: torch.Tensor) -> str:
    return "x".join(str(d) for d in t.shape) or "scalar"


def load_weights(model: nn.Module, path: str | Path, strict: bool = True) -> nn.Module:
    """Load safetensors weights into ``model`` (``path``: a file, or a training directory holding
    ``last.safetensors``); a file for another model fails with one line naming the file and the first
    missing / unexpected / mismatched keys."""
    path = resolve_weights(path)
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
    cast = {k: v.to(target[k].dtype) if v.is_floating_point() else v for k, v in state.items() if k in target}
    unwrap(model).load_state_dict(cast, strict=strict)  # fp16 (shipped) files come back in the model's dtype
    return model


def init_from(model: nn.Module, path: str | Path) -> tuple[list[str], list[str]]:
    """Fine-tuning start: copy every tensor of ``path`` whose name and shape fit ``model``; the others
    (e.g. a head for another keypoint count) keep their fresh initialisation.

    Returns (kept, re-initialised) parameter / buffer names."""
    state = read_weights(path)
    target = unwrap(model).state_dict()
    kept = [k for k, v in target.items() if k in state and state[k].shape == v.shape]
    fresh = [k for k in target if k not in kept]
    if not kept:
        raise CheckpointError(f"checkpoint {path}: no tensor fits model {type(unwrap(model)).__name__}")
    cast = {k: state[k].to(target[k].dtype) if state[k].is_floating_point() else state[k] for k in kept}
    unwrap(model).load_state_dict(cast, strict=False)
    return kept, fresh


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
