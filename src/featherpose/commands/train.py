"""``featherpose train``: train a model from a YAML recipe (single process, or DDP under torchrun)."""

from __future__ import annotations

import argparse

from featherpose.cli import CLIError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a config (configs/*.yaml)")
    p.add_argument("config", help="YAML recipe")
    p.add_argument("--out", required=True, help="output directory (checkpoints, metrics.jsonl)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/state.pt")
    p.add_argument("--init", metavar="WEIGHTS|MODEL[:TAG]",
                   help="fine-tune: start from these weights (a file, or shipped ones); tensors whose shapes "
                        "differ (e.g. another keypoint count) are re-initialised (overrides model.init)")  # fmt: skip
    p.add_argument("--data-root", help="dataset root (overrides data.root of the config)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps in total (resumable)")
    p.add_argument("--max-minutes", type=float, help="stop after this many minutes of this run (resumable)")
    p.add_argument("--seed", type=int, help="random seed (default: the config's)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from featherpose.data.errors import AnnotationError, ImageError
    from featherpose.engine.checkpoint import CheckpointError
    from featherpose.engine.config import ConfigError, load_config
    from featherpose.engine.trainer import train

    try:
        cfg = load_config(args.config, args.data_root)
        if args.init:
            cfg.model.init = args.init
        result = train(cfg, args.out, resume=args.resume, max_steps=args.max_steps, max_minutes=args.max_minutes,
                       seed=args.seed, device=args.device, progress=not args.no_progress)  # fmt: skip
    except (ConfigError, CheckpointError, AnnotationError, ImageError) as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:  # unknown model / codec names from the zoo
        if "unknown" in str(exc):
            raise CLIError(f"config {args.config}: {exc}") from None
        raise
    best = "" if result.best_score is None else f", best score {result.best_score:.4f}"
    print(f"{result.stopped}: epoch {result.epoch}, step {result.step}{best}; checkpoints in {result.out_dir}")
    return 0
