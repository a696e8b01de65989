"""Loading checkpoints of the public Lightweight OpenPose reference into our OpenPose-family models.

Our module names equal the reference's, so the key map is the identity apart from three documented,
weight-free adjustments:

1. a training checkpoint ``{"state_dict": ..., "optimizer": ..., ...}`` is unwrapped to its ``state_dict``;
2. a ``module.`` prefix on *every* key (a checkpoint saved from ``nn.DataParallel``) is stripped;
3. BatchNorm ``num_batches_tracked`` counters absent from the checkpoint (files written by PyTorch < 0.4.1)
   are taken from the model. They are training-step counters, not weights, and are unused in eval.

Every weight and running statistic must then match by name and shape, and loading is ``strict=True``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn

_SHOWN = 3  # how many offending keys the error message names per category


class CheckpointMismatchError(ValueError):
    """A checkpoint whose keys or shapes do not fit the model; the message is one line."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"checkpoint {source}: {problem}")
        self.source = source
        self.problem = problem


def _read(source: str | os.PathLike | Mapping, map_location: str | torch.device) -> tuple[str, Mapping]:
    if isinstance(source, Mapping):
        return "<state dict>", source
    name = os.fspath(source)
    try:
        return name, torch.load(name, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointMismatchError(name, "no such file") from None
    except Exception as err:  # unpickling errors, truncated files, non-tensor payloads
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointMismatchError(name, f"cannot be read with torch.load(weights_only=True): {first}") from err


def _unwrap(state: Mapping) -> dict[str, torch.Tensor]:
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    keys = list(state)
    if keys and all(isinstance(k, str) and k.startswith("module.") for k in keys):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return dict(state)


def _first(items: list[str]) -> str:
    more = f", ... (+{len(items) - _SHOWN})" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def reference_key_problems(model: nn.Module, state: Mapping[str, object]) -> list[str]:
    """Human-readable problems (missing / unexpected / mismatched keys) of ``state`` against ``model``;
    empty when ``state`` loads with ``strict=True``."""
    target = model.state_dict()
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    mismatched = []
    for k, ref in target.items():
        v = state.get(k)
        if k in state and (not isinstance(v, torch.Tensor) or v.shape != ref.shape):
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            mismatched.append(f"{k} {got} != {tuple(ref.shape)}")
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_first(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_first(unexpected)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es) (checkpoint != model): {_first(mismatched)}")
    return problems


def load_reference_checkpoint(
    model: nn.Module, source: str | os.PathLike | Mapping, map_location: str | torch.device = "cpu"
) -> nn.Module:
    """Load a Lightweight OpenPose reference checkpoint (e.g. ``checkpoint_iter_370000.pth``) or a state
    dict in the reference layout into ``model`` with ``strict=True``; returns ``model``.

    A file is read with ``torch.load(..., weights_only=True)``. Raises :class:`CheckpointMismatchError`
    (a ``ValueError``, one line naming the file and the first missing / unexpected / mismatched keys)
    when the checkpoint does not fit, e.g. a different ``num_refinement_stages``.
    """
    name, raw = _read(source, map_location)
    if not isinstance(raw, Mapping):
        raise CheckpointMismatchError(name, f"expected a dict of tensors, got {type(raw).__name__}")
    state = _unwrap(raw)
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = value.clone()
    problems = reference_key_problems(model, state)
    if problems:
        raise CheckpointMismatchError(name, f"does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)
    return model
