"""The model zoo: a plain map from model name to a :class:`ModelSpec` (builder + paper figures).

Family modules call :func:`register` at import time; ``featherpose.models`` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from featherpose.skeletons import KeypointSet, get_keypoint_set

PAPER_UNITS = {"1e9": 1e9, "2^30": float(2**30)}  # what a paper's printed "G" divides by


def paper_gmacs(printed: float, unit: str = "1e9") -> float:
    """A paper's printed "GFLOPs" / "GMACs" figure as a count of MACs (decimal), given the divisor its
    tool used: ``"1e9"``, or ``"2^30"`` (HRNet's ``get_model_summary`` and the tables copied from it).
    One unit for every row of the models table: docs/models.md, "One cost unit"."""
    if unit not in PAPER_UNITS:
        raise ValueError(f"paper unit must be one of {', '.join(PAPER_UNITS)}, got {unit!r}")
    return printed * PAPER_UNITS[unit]


@dataclass(frozen=True)
class ModelSpec:
    """A named model: its family, how to build it, and what its paper reports.

    ``paper_macs`` is the paper's figure converted to MACs (one multiply-accumulate each, decimal: the
    table prints it / 1e9 as GMACs like our own counts); ``paper_unit`` says how the paper printed it
    (``"2^30"``: its "GFLOPs" = MACs / 2^30), so ``paper_macs / PAPER_UNITS[paper_unit]`` is the printed number.
    """

    name: str
    family: str
    paradigm: str  # "top-down" or "bottom-up"
    keypoints: str  # a keypoint-set name from featherpose.skeletons
    input_size: tuple[int, int]  # (height, width) the paper measures at
    builder: Callable[..., nn.Module]
    paper: str  # which paper / table the figures come from
    paper_params: float | None = None  # parameters as printed by the paper
    paper_macs: float | None = None  # the paper's "GFLOPs" (in practice MACs), converted to MACs
    defaults: dict = field(default_factory=dict)  # keyword arguments passed to the builder
    notes: str = ""
    paper_unit: str = "1e9"  # the divisor behind the paper's printed figure: "1e9" or "2^30"

    @property
    def paper_printed(self) -> float | None:
        """The paper's MACs figure as printed (in its own unit)."""
        return None if self.paper_macs is None else self.paper_macs / PAPER_UNITS[self.paper_unit]

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
    if spec.paper_unit not in PAPER_UNITS:
        raise ValueError(f"model {spec.name!r}: paper_unit must be one of {', '.join(PAPER_UNITS)}")
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
