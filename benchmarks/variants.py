"""Parameters and MACs of every training recipe in ``configs/``: the model each recipe builds (with its
``model.args``, e.g. paper 004's Table VI ablation switches, and the dataset's keypoint count) at the
recipe's input size, next to the paper row it reproduces. The recipe and variants tables of README.md
and docs/models.md come from this script.

Models are built through the trainer's own path (``load_config`` -> ``build_model_from_config``) on
PyTorch's meta device, so the counts are exact and nothing is computed. Counting convention and unit:
GMACs = 1e9 multiply-accumulates (docs/models.md, "One cost unit").

    .venv/bin/python benchmarks/variants.py [--json benchmarks/results/variants.json] [--readme] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from featherpose.complexity import complexity
from featherpose.engine.build import build_model_from_config, model_args, model_spec
from featherpose.engine.config import TrainConfig, load_config
from featherpose.models.zoo import paper_gmacs
from featherpose.skeletons import COCO17, CROWDPOSE14, MPII16, KeypointSet

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
RESULTS = ROOT / "benchmarks" / "results" / "variants.json"

# The paper's printed figures for the rows a recipe reproduces where the models table has none (other
# keypoint counts or ablation switches): recipe stem -> (params, MACs converted to decimal MACs).
# Paper 004 prints decimal G (LitePose's counter), at 448x448 on CrowdPose (14 keypoints) for Table VI.
PAPER_FIGURES: dict[str, tuple[float, float]] = {
    "litepose_s_crowdpose": (2.7e6, paper_gmacs(5.0)),
    "wlitepose_s_crowdpose_dfc": (3.3e6, paper_gmacs(5.5)),
    "wlitepose_s_crowdpose_dfc_deconv": (3.6e6, paper_gmacs(5.8)),
    "wlitepose_s_crowdpose_deconv": (3.0e6, paper_gmacs(5.2)),
    "litepose_s_crowdpose_weighted": (2.7e6, paper_gmacs(5.0)),
    "wlitepose_s_crowdpose": (3.6e6, paper_gmacs(5.8)),
    "litepose_xs_crowdpose": (1.7e6, paper_gmacs(1.2)),
    "wlitepose_xs_crowdpose": (2.3e6, paper_gmacs(1.5)),
    "hrnet_w32_mpii": (28.5e6, paper_gmacs(9.5, "2^30")),
    "hr_litenet_mpii": (1.92e6, paper_gmacs(1.46, "2^30")),
    "mobileposenet_384_coco": (1.5e6, paper_gmacs(1.23)),
}


def recipe_keypoint_set(cfg: TrainConfig) -> KeypointSet:
    """The keypoints a recipe trains on: its annotation file's declaration when the file is here, else
    the dataset's standard set (MPII-16, CrowdPose-14 for a CrowdPose root, COCO-17 otherwise)."""
    ann = cfg.data_path(cfg.data.train_ann)
    if cfg.data.type == "coco" and ann.is_file():
        from featherpose.data import CocoKeypoints

        return CocoKeypoints(ann).keypoint_set
    if cfg.data.type == "mpii":
        return MPII16
    if "crowdpose" in cfg.data.root.lower():
        return CROWDPOSE14
    return COCO17


@dataclass(frozen=True)
class VariantRow:
    """One recipe's model as the trainer builds it, counted at the recipe's input size."""

    recipe: str
    paper: str
    model: str
    args: dict
    keypoints: int
    input_size: tuple[int, int]
    params: int
    macs: int
    loss_weighted: bool
    paper_params: float | None = None
    paper_macs: float | None = None


def recipe_row(path: Path) -> VariantRow:
    """Build ``path``'s model through the trainer's path (meta device) and count it."""
    cfg = load_config(path)
    kset = recipe_keypoint_set(cfg)
    with torch.device("meta"):
        model = build_model_from_config(cfg, kset)
    c = complexity(model, tuple(cfg.input_size))
    spec = model_spec(cfg.model.name)
    keypoints = model_args(cfg, kset).get("num_keypoints", spec.keypoint_set.num_keypoints)
    paper = PAPER_FIGURES.get(path.stem, (None, None))
    as_spec = not cfg.model.args and tuple(cfg.input_size) == spec.input_size
    if paper == (None, None) and as_spec and keypoints == spec.keypoint_set.num_keypoints:
        paper = (spec.paper_params, spec.paper_macs)  # the models table's row, same network and size
    return VariantRow(
        recipe=path.stem, paper=cfg.paper, model=cfg.model.name, args=dict(cfg.model.args),
        keypoints=keypoints, input_size=tuple(cfg.input_size), params=c.params, macs=c.macs,
        loss_weighted=cfg.loss.weighted, paper_params=paper[0], paper_macs=paper[1],
    )  # fmt: skip


def _args(row: VariantRow) -> str:
    parts = [f"{k}: {json.dumps(v)}" for k, v in row.args.items() if k != "num_keypoints"]
    if row.loss_weighted:
        parts.append("loss.weighted")
    return ", ".join(parts) or "-"


def _paper(value: float | None, scale: float) -> str:
    return "-" if value is None else f"{value / scale:.2f}"


def recipe_table(rows: list[VariantRow]) -> str:
    """The README's recipe table: which paper row each recipe reproduces, and with which switches."""
    lines = ["| recipe | reproduces | model | switches | input |", "|---|---|---|---|---|"]
    lines += [f"| `{r.recipe}` | {r.paper} | `{r.model}` | {_args(r)} | {r.input_size[0]}x{r.input_size[1]} |"
              for r in rows]  # fmt: skip
    return "\n".join(lines)


def markdown(rows: list[VariantRow]) -> str:
    """The variants table (docs/models.md): every recipe's model, counted, next to the paper's figures."""
    lines = [
        "| recipe | reproduces | model | switches | K | input | params (M) | GMACs | paper params (M) | paper GMACs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r.recipe}` | {r.paper} | `{r.model}` | {_args(r)} | {r.keypoints} | "
            f"{r.input_size[0]}x{r.input_size[1]} | {r.params / 1e6:.2f} | {r.macs / 1e9:.2f} | "
            f"{_paper(r.paper_params, 1e6)} | {_paper(r.paper_macs, 1e9)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=RESULTS, help="where to write the rows (default: %(default)s)")
    ap.add_argument("--readme", action="store_true", help="print the README's shorter recipe table instead")
    ap.add_argument("--write", action="store_true", help="also rewrite both tables in README.md and docs/models.md")
    args = ap.parse_args(argv)
    rows = [recipe_row(p) for p in sorted(CONFIGS.glob("*.yaml"))]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {"unit": "MACs (GMACs = 1e9 MACs)", "rows": [asdict(r) for r in rows]}
    args.json.write_text(json.dumps(payload, indent=1) + "\n")
    print(recipe_table(rows) if args.readme else markdown(rows))
    if args.write:
        write_table(ROOT / "README.md", "recipes-table", recipe_table(rows))
        write_table(ROOT / "docs" / "models.md", "variants-table", markdown(rows))
    return 0


def write_table(path: Path, marker: str, table: str) -> None:
    """Replace the block between ``<!-- marker:start -->`` and ``<!-- marker:end -->`` in ``path``."""
    text = path.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{path}: markers {start} ... {end} not found")
    head, rest = text.split(start, 1)
    path.write_text(f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}")
    print(f"updated {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
