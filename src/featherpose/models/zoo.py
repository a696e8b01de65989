"""The model zoo: a plain map from model name to a :class:`ModelSpec` (builder + paper figures).

Family modules call :func:`register` at import time; ``featherpose.models`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from featherpose.skeletons import KeypointSet, get_keypoint_set


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its family, how to build it, and what its paper reports."""

    name: str
    family: str
    paradigm: str  # "top-down" or "bottom-up"
    keypoints: str  # a keypoint-set name from featherpose.skeletons
    input_size: tuple[int, int]  # (height, width) the paper measures at
    builder: Callable[..., nn.Module]
    paper: str  # which paper / table the figures come from
    paper_params: float | None = None  # parameters as printed by the paper
    paper_macs: float | None = None  # the paper's "GFLOPs" (in practice MACs), in MACs
    defaults: dict = field(default_factory=dict)  # keyword arguments passed to the builder
    notes: str = ""

    @property
    def keypoint_set(self) -> KeypointSet:
        return get_keypoint_set(self.keypoints)

    def build(self, **overrides) -> nn.Module:
        kwargs = {**self.defaults, **overrides}
        return self.builder(**kwargs)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the zoo (names are unique)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    if spec.paradigm not in ("top-down", "bottom-up"):
        raise ValueError(f"model {spec.name!r}: paradigm must be 'top-down' or 'bottom-up'")
    get_keypoint_set(spec.keypoints)
    _REGISTRY[spec.name] = spec
    return spec


def list_models() -> list[str]:
    """Names of every registered model, in registration order."""
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of a registered model."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY) or "(none)"
        raise ValueError(f"unknown model {name!r}; known models: {known}") from None


def build_model(name: str, **overrides) -> nn.Module:
    """Build a registered model; keyword arguments override the builder's defaults
    (e.g. ``num_keypoints=16``)."""
    return get_spec(name).build(**overrides)
