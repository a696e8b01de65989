"""The models table: measured parameters and MACs next to each paper's figures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from featherpose.complexity import complexity
from featherpose.models import get_spec, list_models
from featherpose.models.zoo import PAPER_UNITS


@dataclass(frozen=True)
class ModelRow:
    """One row of the models table (JSON keys of ``featherpose models --json``)."""

    name: str
    family: str
    paradigm: str
    keypoints: str
    input_size: tuple[int, int]
    params: int
    macs: int
    paper_params: float | None
    paper_macs: float | None  # the paper's figure in MACs (decimal), converted from its own unit
    paper_unit: str = "1e9"  # the divisor behind the paper's printed "GFLOPs": 1e9 or 2^30

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "paradigm": self.paradigm,
            "keypoints": self.keypoints,
            "input_size": list(self.input_size),
            "params": self.params,
            "macs": self.macs,
            "paper_params": self.paper_params,
            "paper_macs": self.paper_macs,
        }

    @property
    def params_gap(self) -> float | None:
        return None if not self.paper_params else self.params / self.paper_params - 1.0

    @property
    def macs_gap(self) -> float | None:
        return None if not self.paper_macs else self.macs / self.paper_macs - 1.0


@cache
def model_row(name: str) -> ModelRow:
    """Build the named model and count it at its paper's input size.

    The model is built on PyTorch's meta device: shapes are propagated, nothing is computed or
    allocated, and the counts are exact."""
    spec = get_spec(name)
    with torch.device("meta"):
        model = spec.build()
    c = complexity(model, spec.input_size)
    return ModelRow(
        name=name,
        family=spec.family,
        paradigm=spec.paradigm,
        keypoints=spec.keypoints,
        input_size=spec.input_size,
        params=c.params,
        macs=c.macs,
        paper_params=spec.paper_params,
        paper_macs=spec.paper_macs,
        paper_unit=spec.paper_unit,
    )


def model_rows(names: list[str] | None = None) -> list[ModelRow]:
    """Rows for the given models (all registered models by default)."""
    return [model_row(n) for n in (names or list_models())]


def _fmt(value: float | None, scale: float, digits: int) -> str:
    return "-" if value is None else f"{value / scale:.{digits}f}"


def _gap(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _printed(r: ModelRow) -> str:
    """The paper's figure as it prints it, with the divisor its tool used (docs/models.md, "One cost unit")."""
    return "-" if r.paper_macs is None else f"{r.paper_macs / PAPER_UNITS[r.paper_unit]:.2f} / {r.paper_unit}"


COLUMNS = ("model", "family", "paradigm", "keypoints", "input", "params (M)", "GMACs",
           "paper params (M)", "paper GMACs", "paper as printed", "params gap", "MACs gap")  # fmt: skip


def _cells(r: ModelRow) -> list[str]:
    return [
        r.name, r.family, r.paradigm, r.keypoints, f"{r.input_size[0]}x{r.input_size[1]}",
        _fmt(r.params, 1e6, 2), _fmt(r.macs, 1e9, 2), _fmt(r.paper_params, 1e6, 2),
        _fmt(r.paper_macs, 1e9, 2), _printed(r), _gap(r.params_gap), _gap(r.macs_gap),
    ]  # fmt: skip


def format_table(rows: list[ModelRow], extra: dict[str, list[str]] | None = None) -> str:
    """A plain-text table; ``extra`` adds columns (header -> one cell per row)."""
    header = list(COLUMNS) + list(extra or {})
    body = [_cells(r) + [col[i] for col in (extra or {}).values()] for i, r in enumerate(rows)]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)


def format_markdown(rows: list[ModelRow]) -> str:
    """The same table in Markdown (the README's models table)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(_cells(r))) + " |" for r in rows]
    return "\n".join(lines)
