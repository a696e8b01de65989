"""Train several recipes at once on one machine within a wall-clock budget, each run's epochs sized
so that its schedule (e.g. cosine) ends inside the budget.

1. probe: every recipe runs ``--probe-steps`` steps concurrently; its images/s is read from the last
   ``train`` line of its ``metrics.jsonl``;
2. each recipe's ``epochs`` = budget x images/s / training images (at least 1), written to
   ``OUT/NAME.yaml``;
3. the real runs, concurrently, with ``--max-minutes`` as a safety stop (resumable as usual).

    python scripts/train_concurrent.py OUT --budget-min 8 --device cuda configs/a.yaml configs/b.yaml
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from featherpose.engine.build import build_codec, build_train_dataset
from featherpose.engine.config import load_config
from featherpose.engine.datasets import dataset_keypoint_set


def last_train_rate(metrics: Path) -> float:
    """images/s of the last ``train`` line of a metrics.jsonl (0 if none)."""
    rate = 0.0
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "train":
                rate = float(rec.get("images_per_s", 0.0))
    return rate


def launch(cfg: Path, out: Path, device: str, extra: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "featherpose.cli", "train", str(cfg), "--out", str(out), "--device", device,
           "--no-progress", *extra]  # fmt: skip
    log = open(out.with_suffix(".log"), "a")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("configs", nargs="+", type=Path)
    ap.add_argument("--budget-min", type=float, required=True, help="wall minutes for the real runs")
    ap.add_argument("--probe-steps", type=int, default=60)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = [c.stem for c in args.configs]
    t0 = time.time()
    probes = [launch(c, args.out / f"probe_{n}", args.device, ["--max-steps", str(args.probe_steps)])
              for c, n in zip(args.configs, names, strict=True)]  # fmt: skip
    for p in probes:
        p.wait()
    print(f"probe done in {time.time() - t0:.0f} s", flush=True)
    runs = []
    for c, n in zip(args.configs, names, strict=True):
        cfg = load_config(c)
        kset = dataset_keypoint_set(cfg)
        size = len(build_train_dataset(cfg, build_codec(cfg, kset), 0))
        rate = last_train_rate(args.out / f"probe_{n}" / "metrics.jsonl")
        epochs = max(1, int(args.budget_min * 60 * rate * 0.97 / size))
        raw = yaml.safe_load(c.read_text())
        raw["epochs"] = epochs
        raw["data"]["root"] = cfg.data.root  # absolute: the copy lives elsewhere
        sized = args.out / f"{n}.yaml"
        sized.write_text(yaml.safe_dump(raw, sort_keys=False))
        print(f"{n}: {rate:.0f} images/s in the probe, {size} samples -> {epochs} epochs", flush=True)
        runs.append(launch(sized, args.out / n, args.device, ["--max-minutes", str(args.budget_min + 1.0)]))
    codes = [p.wait() for p in runs]
    print(f"runs ended with {codes} after {(time.time() - t0) / 60:.1f} min", flush=True)
    return max(codes)


if __name__ == "__main__":
    raise SystemExit(main())
