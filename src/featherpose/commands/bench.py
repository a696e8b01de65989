"""``featherpose bench``: latency (batch 1, split pre / network / decode) and batch-32 throughput of
every model on every installed backend, next to the machine's GEMM floor; table, ``--json``, ``--plot``."""

from __future__ import annotations

import argparse
import json
import sys

from featherpose.cli import CLIError
from featherpose.commands.args import add_list_argument


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="speed of models x backends next to the machine's floor",
                              description=__doc__)  # fmt: skip
    add_list_argument(p, "--models", help="model names, a,b or a b (default: all registered)")
    add_list_argument(p, "--backends", help="torch, onnxruntime, openvino; a,b or a b (default: all installed)")
    add_list_argument(p, "--precisions", choices=("fp32", "bf16"),
                      help="fp32, bf16; a,b or a b (default: fp32, plus bf16 on OpenVINO where the CPU "
                           "has it)")  # fmt: skip
    p.add_argument("--threads", type=int, default=2, help="threads for every backend (default 2)")
    p.add_argument("--repeats", type=int, help="timed batch-1 calls (default 3; --full: 10)")
    p.add_argument("--batch", type=int, default=32, help="throughput batch size (default 32; 0 skips it)")
    p.add_argument("--full", action="store_true", help="more repeats (10 at batch 1, 3 at batch 32)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    p.add_argument("--out", metavar="FILE.json", help="also write the JSON result here")
    p.add_argument("--plot", metavar="FILE.png", help="latency vs MACs and vs params (matplotlib)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from featherpose.bench import BACKENDS, available_backends, format_table, plot, run_bench, save_json
    from featherpose.models import list_models

    models = args.models
    unknown = sorted(set(models or []) - set(list_models()))
    if unknown:
        raise CLIError(f"unknown model {unknown[0]!r}; known: {', '.join(list_models())}")
    backends = args.backends
    for b in backends or []:
        if b not in BACKENDS:
            raise CLIError(f"unknown backend {b!r}; known: {', '.join(BACKENDS)}")
        if b not in available_backends():
            raise CLIError(f"backend {b} is not installed (pip install 'featherpose[deploy]')")
    precisions = args.precisions
    if args.threads < 1 or args.batch < 0:
        raise CLIError("--threads must be >= 1 and --batch >= 0")
    repeats = args.repeats or (10 if args.full else 3)

    def progress(row: object) -> None:
        if not args.json:
            status = f"error: {row.error}" if row.error else f"{row.net_ms:.1f} ms network"
            print(f"  {row.model} / {row.backend} {row.precision}: {status}", file=sys.stderr)

    result = run_bench(models, backends, precisions, args.threads, repeats, args.batch,
                       3 if args.full else 1, args.full, progress)  # fmt: skip
    if args.out:
        save_json(result, args.out)
    if args.plot:
        plot(result, args.plot)
    print(json.dumps(result, default=str).replace("NaN", "null") if args.json else format_table(result))
    return 0
