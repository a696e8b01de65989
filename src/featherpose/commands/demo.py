"""``featherpose demo``: the models table with a CPU latency for every model, then one real image
through the full inference pipeline."""

from __future__ import annotations

import argparse

import torch
from tqdm import tqdm

from featherpose.benchmark import time_model
from featherpose.models import get_spec, list_models
from featherpose.report import format_table, model_row


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job: models table with CPU latency at each paper's input size")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the latency runs (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per model (median reported)")
    p.add_argument("--models", nargs="*", default=None, help="only these models (default: all)")
    p.add_argument("--out", default="out/demo", help="where the rendered demo image goes (default out/demo)")
    p.add_argument("--skip-image", action="store_true", help="only the models table, no image through the pipeline")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    names = args.models or list_models()
    specs = [get_spec(n) for n in names]  # unknown names fail here, before any work
    rows, latency = [], []
    for name, spec in zip(tqdm(names, desc="models", unit="model"), specs, strict=True):
        rows.append(model_row(name))
        t = time_model(spec.build(), spec.input_size, batch=1, repeats=args.repeats, threads=args.threads)
        latency.append(f"{t.median_ms:.1f}")
    print(f"\nfeatherpose models, batch 1 on CPU ({args.threads} threads, median of {args.repeats} runs)\n")
    print(format_table(rows, extra={"CPU ms": latency}))
    if not args.skip_image:
        from featherpose.inference import demo_image

        print("\nOne image through the full pipeline (decode, group, render):")
        demo_image(args.out)
    return 0
