"""Turn a training run's weights into a shipped file: fp16 safetensors carrying the full metadata of the
recipe it was trained with (keypoint set, codec, input size, normalisation) plus provenance.

    python scripts/ship_weights.py RUN/last.safetensors configs/RECIPE.yaml src/featherpose/weights/NAME.safetensors \
        --provenance data="LSPET train + coco-mini train2017" hardware="1x H200" epochs=32 ...

Values that parse as JSON (numbers, lists) are stored as such, the rest as strings. With ``--int8 CALIB``
it also writes the INT8 OpenVINO IR that ``backend="auto"`` runs (``NAME-int8.xml`` / ``.bin`` beside the
file; ``featherpose export --int8``, calibrated on 32 images of CALIB: a folder, glob or COCO file of
training images), which must be remade whenever the safetensors change (docs/pretrained.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from featherpose.engine.build import build_codec, build_model_from_config
from featherpose.engine.checkpoint import load_weights, ship_weights
from featherpose.engine.config import load_config
from featherpose.engine.datasets import dataset_keypoint_set
from featherpose.modelfile import training_meta


def parse_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("weights", type=Path)
    ap.add_argument("recipe", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--data-root", help="where the recipe's annotation files are (to read the keypoint set)")
    ap.add_argument("--provenance", nargs="*", default=[], metavar="KEY=VALUE")
    ap.add_argument(
        "--test-scale",
        choices=("fit", "short_side", "height"),
        help="bottom-up test scale the file asks for (default: the family's; docs/evaluation.md)",
    )
    ap.add_argument("--int8", metavar="CALIB", help="also write the shipped INT8 IR, calibrated on these images")
    args = ap.parse_args()
    cfg = load_config(args.recipe, args.data_root)
    kset = dataset_keypoint_set(cfg)
    codec = build_codec(cfg, kset)
    net = build_model_from_config(cfg, kset)
    load_weights(net, args.weights)
    meta = training_meta(cfg, kset, codec, net)
    extra = dict(kv.split("=", 1) for kv in args.provenance)
    values = {k: parse_value(v) for k, v in extra.items()}
    meta = meta.with_provenance(recipe=str(args.recipe), data_root="", **values)
    if args.test_scale:
        meta = dataclasses.replace(meta, test_scale=args.test_scale)
    ship_weights(net.eval(), args.out, meta)
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size:.2f} MB, {meta.model}, {meta.keypoint_set.num_keypoints} keypoints, "
          f"codec {meta.codec}, input {meta.input_size}")  # fmt: skip
    if args.int8:
        from featherpose.deploy.export import export_model

        ir = args.out.with_name(f"{args.out.stem}-int8.xml")
        export_model(str(args.out), ir, "openvino", int8=True, calib=args.int8, calib_count=32)
        print(f"{ir}: INT8 OpenVINO IR calibrated on 32 images of {args.int8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
