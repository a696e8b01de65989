"""The network call as one small object, and the backend registry: a :class:`Runner` maps a
preprocessed float32 NCHW batch to a flat list of numpy outputs. ``RUNNERS`` maps a backend name to
a factory, so other backends (onnxruntime, openvino: :mod:`featherpose.deploy.backends`) plug in
with ``register_runner`` without touching pre/post-processing.

A factory is called as ``factory(model, device=..., input_size=..., **options)`` where ``model`` is
the built ``torch.nn.Module`` (weights loaded) and ``input_size`` the network input (H, W).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn


@runtime_checkable
class Runner(Protocol):
    """Anything that runs the network: ``runner(batch (N, 3, H, W) float32) -> [outputs as numpy]``."""

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]: ...


def flatten_outputs(outputs: object) -> list[np.ndarray]:
    """A model's output (tensor, or nested lists / tuples of tensors) -> flat list of float32 arrays."""
    if isinstance(outputs, torch.Tensor):
        return [outputs.detach().to("cpu", torch.float32).numpy()]
    if isinstance(outputs, np.ndarray):
        return [outputs.astype(np.float32, copy=False)]
    if isinstance(outputs, Sequence):
        return [a for o in outputs for a in flatten_outputs(o)]
    raise TypeError(f"unsupported network output type {type(outputs).__name__}")


class TorchRunner:
    """Run a ``torch.nn.Module`` in eval mode under ``torch.inference_mode`` on ``device``."""

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu", **_: object) -> None:
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device)
            return flatten_outputs(self.model(x))


RUNNERS: dict[str, Callable[..., Runner]] = {"torch": TorchRunner}


def register_runner(name: str, factory: Callable[..., Runner]) -> None:
    """Make ``backend=name`` available to the estimator (``PoseEstimator(..., backend=name)``)."""
    RUNNERS[name] = factory


def make_runner(backend: str | Runner, model: nn.Module, device: str = "cpu", **options: object) -> Runner:
    """A runner for ``backend`` (a registered name, or a ready runner object that is returned as is)."""
    if not isinstance(backend, str):
        if not callable(backend):
            raise TypeError(f"backend must be a name or a callable runner, got {type(backend).__name__}")
        return backend
    try:
        factory = RUNNERS[backend]
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(RUNNERS)}") from None
    return factory(model, device=device, **options)
