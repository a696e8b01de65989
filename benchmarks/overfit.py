"""Learning proof: train a coco-mini recipe for a fixed wall-time budget on this CPU and report COCO AP
on the training persons (ground-truth boxes for top-down models) against time.

    # one run (in the background: nohup ... &), then the report
    .venv/bin/python benchmarks/overfit.py run configs/mobileposenet_coco-mini.yaml --minutes 20 \
        --out runs/overfit/mobileposenet
    .venv/bin/python benchmarks/overfit.py report runs/overfit/mobileposenet runs/overfit/litepose_xs \
        --plot docs/overfit.png

``run`` validates every ``eval.interval`` epochs (the trainer's validation, logged to
metrics.jsonl); ``report`` prints a Markdown table of AP against wall time and draws the curves.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def run(args: argparse.Namespace) -> None:
    import torch

    from featherpose.engine.config import load_config
    from featherpose.engine.trainer import train

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.data_root)
    out = Path(args.out)
    if out.exists() and not args.resume:
        (out / "metrics.jsonl").unlink(missing_ok=True)
    t = time.perf_counter()
    result = train(cfg, out, resume=args.resume, max_minutes=args.minutes, progress=False)
    info = {"config": str(args.config), "model": cfg.model.name, "input_size": list(cfg.input_size),
            "threads": args.threads, "cpus": os.cpu_count(), "load_avg_end": os.getloadavg(),
            "minutes": args.minutes, "wall_s": round(time.perf_counter() - t, 1), "epochs": result.epoch,
            "steps": result.step, "stopped": result.stopped, "best_score": result.best_score}  # fmt: skip
    (out / "overfit.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info))


def _curve(run_dir: Path, cpu_samples: Path | None) -> list[dict]:
    """The run's validation points; ``cpu_seconds`` comes from the log or, for runs logged without it,
    from a ``TIMESTAMP NAME CPU_SECONDS`` samples file (interpolated at each point's wall time)."""
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip()]
    pts = [x for x in lines if x["type"] == "val"]
    if pts and "cpu_seconds" not in pts[0] and cpu_samples is not None and cpu_samples.exists():
        import numpy as np

        rows = [r.split() for r in cpu_samples.read_text().splitlines()]
        rows = [(float(t), float(c)) for t, n, c in rows if n == run_dir.name]
        start = (run_dir / "config.yaml").stat().st_mtime  # written when training starts
        if rows:
            ts, cs = np.array(rows).T
            for p in pts:
                p["cpu_seconds"] = float(np.interp(start + p["wall_seconds"], ts, cs))
    return pts


def report(args: argparse.Namespace) -> None:
    curves = {}
    for d in map(Path, args.runs):
        info = json.loads((d / "overfit.json").read_text()) if (d / "overfit.json").exists() else {"model": d.name}
        curves[info["model"]] = (info, _curve(d, Path(args.cpu_samples) if args.cpu_samples else None))
    for name, (info, pts) in curves.items():
        size = "x".join(map(str, info.get("input_size", [])))
        print(f"\n**{name}** ({size}, {info.get('threads', '?')} threads, {info.get('epochs', '?')} epochs "
              f"in {info.get('wall_s', 0) / 60:.1f} min)\n")
        print("| wall min | CPU min (all threads) | epoch | AP | AP50 | AR |")
        print("|---|---|---|---|---|---|")
        for p in pts:
            cpu = f"{p['cpu_seconds'] / 60:.1f}" if "cpu_seconds" in p else "-"
            print(f"| {p['wall_seconds'] / 60:.1f} | {cpu} | {p['epoch']} | {p['AP']:.3f} "
                  f"| {p['AP50']:.3f} | {p['AR']:.3f} |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for name, (_, pts) in curves.items():
            ap = [0] + [p["AP"] for p in pts]
            axes[0].plot([0] + [p["wall_seconds"] / 60 for p in pts], ap, marker="o", label=name)
            if all("cpu_seconds" in p for p in pts):
                axes[1].plot([0] + [p["cpu_seconds"] / 120 for p in pts], ap, marker="o", label=name)
        axes[0].set_xlabel("wall time (minutes) on the shared 2-core VM")
        axes[1].set_xlabel("CPU time / 2 (= minutes on 2 dedicated cores)")
        axes[0].set_ylabel("COCO AP on coco-mini train2017 (train images)")
        for ax in axes:
            ax.axhline(0.5, color="grey", lw=0.8, ls="--")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.suptitle("Learning proof: overfitting coco-mini on CPU")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"\nplot: {args.plot}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("config")
    r.add_argument("--out", required=True)
    r.add_argument("--minutes", type=float, default=20.0)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--data-root")
    r.add_argument("--resume", action="store_true")
    r.set_defaults(func=run)
    p = sub.add_parser("report")
    p.add_argument("runs", nargs="+")
    p.add_argument("--plot")
    p.add_argument("--cpu-samples", help="TIMESTAMP NAME CPU_SECONDS lines, for runs logged without cpu_seconds")
    p.set_defaults(func=report)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
