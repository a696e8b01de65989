"""``featherpose demo``: the shipped default pipeline on the bundled real photo, then the models
table with a CPU latency for every model."""

from __future__ import annotations

import argparse
import os
import time

import torch
from tqdm import tqdm

from featherpose.bench import time_model
from featherpose.commands.args import add_list_argument
from featherpose.models import get_spec, list_models
from featherpose.report import format_table, model_row


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job: shipped weights on a real photo, then the models table with "
                                    "CPU latency at each paper's input size")  # fmt: skip
    p.add_argument("--out", default="out/demo", help="where the rendered photo and its JSON go (default out/demo)")
    p.add_argument("--backend", default="torch",
                   help="backend of the photo's pipeline (default torch; auto converts to OpenVINO once)")  # fmt: skip
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads (default: $OMP_NUM_THREADS when set, else 2; 1 on a busy machine)")  # fmt: skip
    p.add_argument("--repeats", type=int, default=3, help="timed runs per model, after one warm-up (median reported)")
    add_list_argument(p, "--models", help="only these models in the table, a,b or a b (default: all)")
    p.add_argument("--skip-image", action="store_true", help="only the models table, no photo through the pipeline")
    p.add_argument("--skip-table", action="store_true", help="only the photo through the pipeline, no models table")
    p.set_defaults(func=run)


def default_threads() -> tuple[int, str]:
    """The CPU threads to use, and why: ``$OMP_NUM_THREADS`` when set; else 2, or as many cores as
    the 1-minute load average leaves idle (at least 1): on a busy machine a second thread spins
    waiting for a core instead of working, and the demo runs several times slower."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env), ""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        load = 0.0
    threads = max(1, min(2, cores, round(cores - load)))
    return threads, (f"{cores} cores, 1-minute load average {load:.1f}" if threads < min(2, cores) else "")


def run(args: argparse.Namespace) -> int:
    why = ""
    if not args.threads:
        args.threads, why = default_threads()
    torch.set_num_threads(args.threads)
    names = args.models or list_models()
    specs = [get_spec(n) for n in names]  # unknown names fail here, before any work
    if not args.skip_image:
        from featherpose.inference import demo_image

        print("The shipped default pipeline on a real photo it never saw in training:")
        t0 = time.perf_counter()
        demo_image(args.out, backend=args.backend)
        print(f"({time.perf_counter() - t0:.1f} s, model building included)\n")
    if args.skip_table:
        return 0
    latency = []
    for spec in tqdm(specs, desc="models latency", unit="model"):
        t = time_model(spec.build(), spec.input_size, batch=1, warmup=1, repeats=args.repeats, threads=args.threads)
        latency.append(f"{t.median_ms:.1f}")
    rows = [model_row(n) for n in names]
    threads = f"{args.threads} thread{'s' * (args.threads > 1)}" + (f" as the machine is busy: {why}" if why else "")
    print(f"\nfeatherpose models, batch 1 on CPU ({threads}; median of {args.repeats} runs; "
          "random weights: the latency does not depend on them)\n")  # fmt: skip
    print(format_table(rows, extra={"CPU ms": latency}))
    return 0
