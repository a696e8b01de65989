"""``featherpose eval``: score trained weights on a config's validation split (COCO AP / PCKh)."""

from __future__ import annotations

import argparse
import json

from featherpose.cli import CLIError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate weights: COCO AP (GT boxes for top-down) or MPII PCKh")
    p.add_argument("config", help="YAML recipe the weights were trained with")
    p.add_argument("--weights", required=True, help="a .safetensors checkpoint (e.g. OUT/best.safetensors)")
    p.add_argument("--data-root", help="dataset root (overrides data.root of the config)")
    p.add_argument("--split", choices=("val", "train"), help="annotation split to score (default: the config's)")
    p.add_argument("--flip", action="store_true", help="flip test (average with the mirrored input; top-down)")
    p.add_argument("--max-images", type=int, help="score only the first N images")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from featherpose.data.errors import AnnotationError, ImageError
    from featherpose.engine.build import build_codec, build_model
    from featherpose.engine.checkpoint import CheckpointError, load_weights
    from featherpose.engine.config import ConfigError, load_config
    from featherpose.engine.datasets import dataset_keypoint_set
    from featherpose.engine.evaluate import evaluate

    if args.device == "cuda" and not torch.cuda.is_available():
        raise CLIError("--device cuda was asked for, but CUDA is not available")
    try:
        cfg = load_config(args.config, args.data_root)
        if cfg.data.type == "synthetic":
            raise CLIError(f"config {args.config}: synthetic data has nothing to evaluate against")
        kset = dataset_keypoint_set(cfg)
        device = torch.device(args.device)
        model = load_weights(build_model(cfg, kset), args.weights).to(device)
        metrics = evaluate(model, cfg, build_codec(cfg, kset), kset, device, split=args.split,
                           flip=args.flip, max_images=args.max_images)  # fmt: skip
    except (ConfigError, CheckpointError, AnnotationError, ImageError) as exc:
        raise CLIError(str(exc)) from None
    metrics.pop("score", None)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:>14}  {v:.4f}")
    return 0
