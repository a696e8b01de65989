"""Training speed on this CPU per precision and memory format, and whether the loss curves still match fp32.

Three measurements, all through the trainer's own code (``featherpose.engine.trainer``):

1. **Step throughput** (images/s): ``train_step`` (forward under autocast, loss, backward, optimiser step)
   on one real coco-mini batch per model and input size, in fp32, bf16 autocast, fp32 channels_last and
   bf16 channels_last. The four settings run interleaved (one step of each per round, rotated order), so
   load from other processes hits them alike; compare the ratios to fp32 within one run.
2. **Data pipeline** (images/s per worker): the real ``TopDownDataset`` / ``BottomUpDataset`` of each
   row's recipe, cold (decode + augment + encode) and with the image cache warm.
3. **Loss curves**: ``train()`` for the same steps from the same seed in each setting on coco-mini
   (one small-input recipe per family); the deviation of each curve from fp32's.

Then, per family, the fastest setting whose curves match fp32 (:func:`matches`): what the trainer's
``precision: auto`` / ``channels_last: auto`` should pick on this CPU (``trainer.CPU_AUTO``; the JSON
records both). Prints tables, writes ``benchmarks/results/train_throughput.json`` (merging into it: rows of
models not measured in this run are kept) and ``docs/train_precision.png``.

    .venv/bin/python benchmarks/train_throughput.py               # everything, 2 threads (~40 min when quiet)
    .venv/bin/python benchmarks/train_throughput.py --quick --threads 1 --models mobileposenet,ghostpose  # to /tmp
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from featherpose.engine.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "coco-mini"
CONFIGS = ROOT / "configs"

SETTINGS = {  # name -> (autocast dtype, channels_last)
    "fp32": ("fp32", False),
    "bf16": ("bf16", False),
    "fp32_cl": ("fp32", True),
    "bf16_cl": ("bf16", True),
}

# (model, recipe whose data / codec / loss it uses, input (H, W), batch): the table's rows.
CASES = [
    ("mobileposenet", "mobileposenet_coco-mini.yaml", (128, 96), 32),
    ("mobileposenet", "mobileposenet_coco.yaml", (256, 192), 16),
    ("mobilenetv2_deconv", "mobileposenet_coco.yaml", (256, 192), 8),
    ("simplebaseline_r50", "simplebaseline_r50_coco.yaml", (256, 192), 8),
    ("hrnet_w32", "hrnet_w32_coco.yaml", (256, 192), 8),
    ("gadnet_w32", "gadnet_w32_coco.yaml", (256, 192), 8),
    ("hr_litenet", "mobileposenet_coco.yaml", (256, 256), 8),
    ("litepose_xs", "litepose_xs_coco.yaml", (256, 256), 8),
    ("wlitepose_xs", "wlitepose_xs_coco.yaml", (256, 256), 8),
    ("ghostpose", "ghostpose_coco.yaml", (256, 256), 8),
    ("lw_openpose", "lw_openpose_coco.yaml", (256, 256), 8),
]

# Loss-curve runs: (model, recipe, input, batch, lr). Small inputs so that every setting's run is short; top-down
# models all take the coco-mini MobilePoseNet recipe. An lr given replaces the recipe's schedule with a constant
# rate after 20 warm-up steps, as in the coco-mini recipes (the OpenPose recipes' Adam 1e-5 barely moves in 60
# steps; 1e-3 makes the comparison a real one).
CURVES = [
    ("mobileposenet", "mobileposenet_coco-mini.yaml", (128, 96), 8, None),
    ("simplebaseline_r50", "mobileposenet_coco-mini.yaml", (128, 96), 8, None),
    ("hrnet_w32", "mobileposenet_coco-mini.yaml", (128, 96), 8, None),
    ("gadnet_w32", "mobileposenet_coco-mini.yaml", (128, 96), 8, None),
    ("hr_litenet", "mobileposenet_coco-mini.yaml", (128, 128), 8, None),
    ("litepose_xs", "litepose_xs_coco-mini.yaml", (128, 128), 8, None),
    ("wlitepose_xs", "wlitepose_xs_coco.yaml", (128, 128), 8, 2e-3),
    ("ghostpose", "ghostpose_coco.yaml", (128, 128), 8, 1e-3),
    ("lw_openpose", "lw_openpose_coco.yaml", (128, 128), 8, 1e-3),
]


def _config(recipe: str, model: str, size: tuple[int, int], batch: int, data_root: Path) -> TrainConfig:
    from featherpose.engine.config import load_config

    cfg = load_config(CONFIGS / recipe, data_root)
    cfg.model = dataclasses.replace(cfg.model, name=model)
    cfg.input_size, cfg.batch_size = tuple(size), batch
    cfg.data = dataclasses.replace(cfg.data, workers=0, cache_images=True)
    return cfg


def _parts(cfg: TrainConfig, with_data: bool = True) -> tuple:
    """The trainer's model (same seed), loss, optimiser and training dataset of ``cfg``."""
    from featherpose.data.transforms import Normalisation
    from featherpose.engine.build import (
        build_codec,
        build_loss,
        build_model_from_config,
        build_optimizer,
        build_train_dataset,
    )
    from featherpose.engine.datasets import dataset_keypoint_set

    kset = dataset_keypoint_set(cfg)
    torch.manual_seed(cfg.seed)
    model = build_model_from_config(cfg, kset).train()
    data = None
    if with_data:
        data = build_train_dataset(cfg, build_codec(cfg, kset), cfg.seed, Normalisation.for_model(model))
    return model, build_loss(cfg, kset), build_optimizer(cfg, model), data


def step_throughput(cfg: TrainConfig, steps: int, warmup: int) -> dict:
    """Median / best images/s of ``train_step`` per setting, the settings interleaved step by step."""
    from featherpose.engine.trainer import Precision, _to_device, train_step

    runs, batch = {}, None
    for name, (dtype, cl) in SETTINGS.items():
        model, loss_fn, optimizer, data = _parts(cfg, with_data=batch is None)
        if batch is None:
            batch = torch.utils.data.default_collate([data[(0, i % len(data))] for i in range(cfg.batch_size)])
        prec = Precision(dtype, cl, "cpu")
        model = prec.prepare(model)
        runs[name] = (model, loss_fn, optimizer, prec.scaler(), prec, _to_device(batch, torch.device("cpu"), cl))
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    order = list(runs)
    for i in range(warmup + steps):
        for name in order[i % len(order):] + order[: i % len(order)]:  # rotated: no setting always runs first
            model, loss_fn, optimizer, scaler, prec, b = runs[name]
            t = time.perf_counter()
            train_step(model, b, loss_fn, optimizer, scaler, prec)
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
    n, ref = cfg.batch_size, times["fp32"]
    return {
        "img_s": {k: n / statistics.median(v) for k, v in times.items()},
        "img_s_best": {k: n / min(v) for k, v in times.items()},
        # speed-up over fp32: of the best steps (the least disturbed by other processes), and the median of
        # the per-round ratios (a round runs every setting once, back to back)
        "ratio": {k: min(ref) / min(v) for k, v in times.items()},
        "ratio_median": {k: statistics.median(a / b for a, b in zip(ref, v, strict=True)) for k, v in times.items()},
        "step_seconds": times,
    }


def data_throughput(cfg: TrainConfig, samples: int) -> dict:
    """Samples/s of one worker process: cold (image decode included) and with the image cache warm."""
    *_, data = _parts(cfg)
    n = min(samples, len(data))
    out = {"dataset": type(data).__name__}
    for label in ("cold", "cached"):  # the first pass fills the cache
        t = time.perf_counter()
        for i in range(n):
            data[(1, i)]
        out[f"{label}_img_s_per_worker"] = n / (time.perf_counter() - t)
    return out


def loss_curve(cfg: TrainConfig, steps: int, settings: list[str]) -> dict:
    """Per-step losses of ``train()`` in each setting (fp32 first), same seed, same batches."""
    from featherpose.engine.trainer import train

    cfg.log_interval, cfg.epochs = 1, 10_000  # no epoch-end validation within the run
    cfg.eval = dataclasses.replace(cfg.eval, interval=10_000)
    losses, seconds = {}, {}
    for name in settings:
        dtype, cl = SETTINGS[name]
        run = dataclasses.replace(cfg, precision=dtype, channels_last=cl)
        with tempfile.TemporaryDirectory() as tmp:
            train(run, tmp, max_steps=steps, progress=False)
            lines = [json.loads(x) for x in (Path(tmp) / "metrics.jsonl").read_text().splitlines()]
        losses[name] = [x["loss"] for x in lines if x["type"] == "train"]
        seconds[name] = next(x["train_seconds"] for x in lines if x["type"] == "end")
        print(f"  {cfg.model.name} {name}: loss {losses[name][0]:.5g} -> {losses[name][-1]:.5g}, "
              f"{seconds[name]:.1f} s", flush=True)  # fmt: skip
    ref = losses["fp32"]
    k = max(1, len(ref) // 6)  # the last sixth of the run (10 of 60 steps)
    dev = {}
    for name, curve in losses.items():
        rel = [abs(a - b) / abs(b) for a, b in zip(curve, ref, strict=True)]
        dev[name] = {"mean_abs_rel": statistics.fmean(rel), "max_abs_rel": max(rel),
                     "tail_ratio": statistics.fmean(curve[-k:]) / statistics.fmean(ref[-k:])}  # fmt: skip
    return {"loss": losses, "train_seconds": seconds, "vs_fp32": dev}


def matches(dev: dict, ref: dict | None) -> bool:
    """A curve matches fp32 when it deviates from it no more than fp32 channels_last does (``ref``: the same
    arithmetic in another order, so rounding alone), with a margin: per step x2 (at least 1%), and the mean
    of the last sixth of the run x2 (at least 3%)."""
    step_bound = max(2.0 * ref["mean_abs_rel"], 0.01) if ref else 0.01
    tail_bound = max(2.0 * abs(ref["tail_ratio"] - 1.0), 0.03) if ref else 0.03
    return dev["mean_abs_rel"] <= step_bound and abs(dev["tail_ratio"] - 1.0) <= tail_bound


def choose(rows: list[dict], curves: list[dict]) -> dict:
    """Per family with loss curves: the setting with the best geometric-mean speed-up over the family's
    throughput rows among those whose curves match fp32 in every curve run of the family."""
    out = {}
    for family in dict.fromkeys(c["family"] for c in curves):
        runs = [c for c in curves if c["family"] == family]
        ok = [name for name in runs[0]["vs_fp32"]
              if all(matches(c["vs_fp32"][name], c["vs_fp32"].get("fp32_cl")) for c in runs)]
        fam_rows = [r for r in rows if r["family"] == family]
        if not fam_rows:
            continue
        speed = {k: statistics.geometric_mean([r["ratio"][k] for r in fam_rows]) for k in SETTINGS}
        best = max(ok, key=speed.get)
        out[family] = {"setting": best, "speedup": speed[best], "matching": ok, "speedups": speed}
    return out


def plot(curves: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, math.ceil(math.sqrt(len(curves))))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(6.0, 4.0 * cols), 3.1 * rows + 0.4), squeeze=False)
    styles = {"fp32": ("k", "-"), "bf16": ("tab:red", "--"), "fp32_cl": ("tab:blue", ":"),
              "bf16_cl": ("tab:orange", "-.")}  # fmt: skip
    for ax in axes.flat[len(curves):]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, curves, strict=False):
        for name, loss in c["loss"].items():
            color, ls = styles[name]
            ax.plot(range(1, len(loss) + 1), loss, color=color, ls=ls, lw=1.3, label=name)
        ax.set_title(f"{c['model']} {c['input']}, batch {c['batch']}", fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("training loss")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Training loss per step on CPU, same seed and batches in every setting", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch threads (at most the free cores)")
    ap.add_argument("--models", help="comma-separated model names (default: every row)")
    ap.add_argument("--quick", action="store_true", help="fewer steps and samples, 20-step curves")
    ap.add_argument("--steps", type=int, help="timed steps per setting (default 8, quick 3)")
    ap.add_argument("--curve-steps", type=int, help="loss-curve steps per setting (default 60, quick 20)")
    ap.add_argument("--settings", default=",".join(SETTINGS), help="loss-curve settings (fp32 is always run)")
    ap.add_argument("--no-curves", action="store_true")
    ap.add_argument("--no-throughput", action="store_true")
    ap.add_argument("--fresh", action="store_true", help="start a new results file instead of merging into --out")
    ap.add_argument("--data-root", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, help="results file (default benchmarks/results/train_throughput.json; "
                    "with --quick: train_throughput.quick.json in the temporary directory)")
    ap.add_argument("--plot", type=Path, help="loss-curve plot (default docs/train_precision.png; --quick: temp dir)")
    args = ap.parse_args()
    scratch = Path(tempfile.gettempdir())  # quick numbers never overwrite the recorded ones
    args.out = args.out or (scratch / "train_throughput.quick.json" if args.quick else
                            ROOT / "benchmarks" / "results" / "train_throughput.json")  # fmt: skip
    args.plot = args.plot or (scratch / "train_precision.quick.png" if args.quick else
                              ROOT / "docs" / "train_precision.png")  # fmt: skip
    if not (args.data_root / "annotations").is_dir():
        raise SystemExit(f"no coco-mini at {args.data_root} (--data-root)")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    torch.set_num_threads(args.threads)
    steps = args.steps or (3 if args.quick else 8)
    warmup = 1 if args.quick else 2
    curve_steps = args.curve_steps or (20 if args.quick else 60)
    wanted = set(args.models.split(",")) if args.models else None
    load_start = os.getloadavg()
    print(f"torch {torch.__version__}, {args.threads} threads, load average {load_start[0]:.2f}\n", flush=True)

    from featherpose.engine.build import model_spec

    # Rows and curves of models not measured in this run are kept from the results file (merge by model and
    # input), so the two parts can be (re)measured separately; the file is rewritten after every row.
    old = json.loads(args.out.read_text()) if args.out.is_file() and not args.fresh else {}
    result = {"torch": torch.__version__, "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "settings": {k: {"autocast": v[0], "channels_last": v[1]} for k, v in SETTINGS.items()},
              "throughput": old.get("throughput", []), "curves": old.get("curves", [])}  # fmt: skip
    run_info = {"date": date.today().isoformat(), "threads": args.threads, "quick": args.quick,
                "load_avg_start": load_start}  # fmt: skip  (stored with every row and curve)

    def put(section: str, item: dict) -> None:
        extra = {"timed_steps": steps, "warmup_steps": warmup} if section == "throughput" else {}
        item["run"] = {**run_info, "load_avg_end": os.getloadavg(), **extra}
        keep = [x for x in result[section] if (x["model"], x["input"]) != (item["model"], item["input"])]
        order = [(m, f"{h}x{w}") for m, _, (h, w), *_ in (CASES if section == "throughput" else CURVES)]
        rank = {k: i for i, k in enumerate(order)}
        result[section] = sorted(keep + [item], key=lambda x: rank.get((x["model"], x["input"]), len(rank)))
        write(args.out, result)

    if not args.no_throughput:
        print("img/s of the best step; speed-up over fp32 of the best steps (median of the per-round ratios)")
        header = ("| model | input | batch | fp32 img/s | bf16 | fp32 channels_last | bf16 channels_last "
                  "| data img/s/worker (cold / cached) |")
        print(header + "\n|---|---|---|---|---|---|---|---|", flush=True)
        for model, recipe, size, batch in CASES:
            if wanted and model not in wanted:
                continue
            cfg = _config(recipe, model, size, batch, args.data_root)
            r = {"model": model, "family": model_spec(model).family, "recipe": recipe,
                 "input": f"{size[0]}x{size[1]}", "batch": batch}  # fmt: skip
            r.update(step_throughput(cfg, steps, warmup))
            r["data"] = data_throughput(cfg, 8 if args.quick else 32)
            put("throughput", r)
            s, q, qm = r["img_s_best"], r["ratio"], r["ratio_median"]
            print(f"| {model} | {r['input']} | {batch} | {s['fp32']:.1f} | "
                  + " | ".join(f"x{q[k]:.2f} (x{qm[k]:.2f})" for k in ("bf16", "fp32_cl", "bf16_cl"))
                  + f" | {r['data']['cold_img_s_per_worker']:.0f} / {r['data']['cached_img_s_per_worker']:.0f} |",
                  flush=True)  # fmt: skip

    if not args.no_curves:
        print(f"\nloss curves, {curve_steps} steps per setting", flush=True)
        for model, recipe, size, batch, lr in CURVES:
            if wanted and model not in wanted:
                continue
            cfg = _config(recipe, model, size, batch, args.data_root)
            if lr is not None:
                cfg.optimizer = dataclasses.replace(cfg.optimizer, lr=lr)
                cfg.schedule = dataclasses.replace(cfg.schedule, type="constant", warmup_steps=20)
            c = {"model": model, "family": model_spec(model).family, "recipe": recipe, "input": f"{size[0]}x{size[1]}",
                 "batch": batch, "lr": cfg.optimizer.lr, "steps": curve_steps}  # fmt: skip
            c.update(loss_curve(cfg, curve_steps, ["fp32", *(k for k in args.settings.split(",") if k != "fp32")]))
            put("curves", c)
    report(result, args.plot)
    write(args.out, result)
    print(f"wrote {args.out}")


def write(path: Path, result: dict) -> None:
    from featherpose.engine.config import config_from_dict
    from featherpose.engine.trainer import resolve_precision

    result["choice"] = choose(result["throughput"], result["curves"])
    models = dict.fromkeys([r["model"] for r in result["throughput"]] + [c["model"] for c in result["curves"]])
    result["cpu_auto_default"] = {}
    for model in models:  # what the trainer's precision: auto / channels_last: auto pick now
        p = resolve_precision(config_from_dict({"model": {"name": model}}), "cpu")
        result["cpu_auto_default"][model] = {"precision": p.name, "channels_last": p.channels_last}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")


def report(result: dict, plot_path: Path | None) -> None:
    """Print the curve deviations and the per-family choice (of everything in the results file)."""
    curves = result["curves"]
    if curves:
        print("\n| model | input | setting | mean abs rel. deviation from fp32 | max | last-sixth mean / fp32 |")
        print("|---|---|---|---|---|---|")
        for c in curves:
            for name, d in c["vs_fp32"].items():
                if name != "fp32":
                    print(f"| {c['model']} | {c['input']} | {name} | {d['mean_abs_rel']:.2%} | {d['max_abs_rel']:.2%} "
                          f"| {d['tail_ratio']:.3f} |")  # fmt: skip
        if plot_path is not None:
            plot(curves, plot_path)
    choice = choose(result["throughput"], curves)
    if choice:
        print("\n| family | fastest setting matching fp32 | speed-up over fp32 | settings whose curve matches |")
        print("|---|---|---|---|")
        for family, ch in choice.items():
            print(f"| {family} | {ch['setting']} | x{ch['speedup']:.2f} | {', '.join(ch['matching'])} |")


if __name__ == "__main__":
    main()
