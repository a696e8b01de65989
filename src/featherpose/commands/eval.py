"""``featherpose eval``: score trained weights on a config's validation split (COCO AP / PCKh).

It runs the prediction path of ``featherpose infer`` (one :class:`~featherpose.inference.PoseEstimator`),
so its AP is the AP of what ``infer`` outputs for the same flip and boxes. A weights file written by
featherpose describes its model (network and builder overrides, codec,
keypoint set, input size) and names the recipe it was trained with, so ``--weights W`` alone is
enough when that recipe is still where it was; a CONFIG given supplies the data and settings."""

from __future__ import annotations

import argparse
import json

from featherpose.cli import CLIError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate weights: COCO AP (GT boxes for top-down) or MPII PCKh")
    p.add_argument("config", nargs="?",
                   help="YAML recipe (data, settings); default: the recipe the weights file names")  # fmt: skip
    p.add_argument("--weights", required=True, help="a .safetensors checkpoint (e.g. OUT/best.safetensors)")
    p.add_argument("--data-root", help="dataset root (overrides data.root of the config)")
    p.add_argument("--split", choices=("val", "train"), help="annotation split to score (default: the config's)")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="flip test (average with the mirrored input); default: the recipe's eval.flip")  # fmt: skip
    p.add_argument("--boxes", metavar="DET.json",
                   help="top-down: COCO detection results giving the person boxes (default: ground-truth boxes)")
    p.add_argument("--results", metavar="OUT.json", help="also write the predictions (COCO results, as infer writes)")
    p.add_argument("--max-images", type=int, help="score only the first N images")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from featherpose.data.errors import AnnotationError, ImageError
    from featherpose.engine.build import build_codec, build_model_from_config
    from featherpose.engine.checkpoint import CheckpointError, load_weights, read_meta
    from featherpose.engine.config import ConfigError, load_config
    from featherpose.engine.datasets import dataset_keypoint_set
    from featherpose.engine.evaluate import evaluate
    from featherpose.io import InputError

    if args.device == "cuda" and not torch.cuda.is_available():
        raise CLIError("--device cuda was asked for, but CUDA is not available")
    try:
        meta = read_meta(args.weights)
        cfg = load_config(_recipe(args, meta), args.data_root or _data_root(args, meta))
        if cfg.data.type == "synthetic":
            raise CLIError(f"config {cfg.path}: synthetic data has nothing to evaluate against")
        kset = dataset_keypoint_set(cfg)
        device = torch.device(args.device)
        if meta is not None:  # the file's own network, codec and input size
            if meta.model != cfg.model.name:
                raise CLIError(f"checkpoint {args.weights}: does not fit model {cfg.model.name}: it holds "
                               f"{meta.model} weights")  # fmt: skip
            cfg.input_size = tuple(meta.input_size)
            model, codec = meta.build(), meta.make_codec()
        else:
            model, codec = build_model_from_config(cfg, kset), build_codec(cfg, kset)
        model = load_weights(model, args.weights).to(device)
        predictions: list = []
        metrics = evaluate(model, cfg, codec, kset, device, split=args.split, flip=args.flip,
                           max_images=args.max_images, boxes=args.boxes, meta=meta,
                           predictions=predictions)  # fmt: skip
        if args.results:
            from featherpose.evaluation.coco import save_results

            save_results(args.results, predictions)
    except (ConfigError, CheckpointError, AnnotationError, ImageError, InputError) as exc:
        raise CLIError(str(exc)) from None
    metrics.pop("score", None)
    if args.json:
        print(json.dumps(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:>14}  {v:.4f}")
    return 0


def _recipe(args: argparse.Namespace, meta: object) -> str:
    """CONFIG, or the recipe the weights file names; a one-line error when neither is there."""
    from pathlib import Path

    if args.config:
        return args.config
    recipe = str(getattr(meta, "provenance", {}).get("recipe") or "") if meta is not None else ""
    if not recipe:
        why = "carry no featherpose metadata" if meta is None else "name no recipe"
        raise CLIError(f"weights {args.weights} {why}: pass the config (featherpose eval CONFIG --weights W)")
    if not Path(recipe).is_file():
        raise CLIError(f"weights {args.weights} were trained with {recipe}, which is not here: pass the config "
                       f"(featherpose eval CONFIG --weights W)")  # fmt: skip
    return recipe


def _data_root(args: argparse.Namespace, meta: object) -> str | None:
    """Without CONFIG: the data root the weights were trained on (it may have been --data-root)."""
    if args.config or meta is None:
        return None
    return str(meta.provenance.get("data_root") or "") or None  # type: ignore[attr-defined]
