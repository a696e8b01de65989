"""``featherpose export``: a weights file or a registered model -> ONNX or OpenVINO IR (fp32, or INT8
calibrated on images). The file carries the model's metadata (keypoint set, codec, input size, ...)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from featherpose.cli import CLIError
from featherpose.commands.args import SIZE_METAVAR, size_arg


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="export a model to ONNX / OpenVINO (fp32 or INT8)",
                              description="Export a model: dynamic batch (and height / width for bottom-up "
                                          "models); the file records the model's metadata (keypoint set, codec, "
                                          "input size, normalisation).")  # fmt: skip
    p.add_argument("--model", required=True,
                   help="a weights file written by featherpose (runs/x/best.safetensors, or a training dir), "
                        "or a registered model name (see `featherpose models`)")  # fmt: skip
    p.add_argument("--weights", help="with a model name: safetensors weights or a shipped tag (default: the "
                                     "model's shipped weights, else random init with a warning)")  # fmt: skip
    p.add_argument("--format", choices=("onnx", "openvino"), help="default: from --out (.xml = openvino)")
    p.add_argument("--input-size", type=size_arg, metavar=SIZE_METAVAR, help="size to trace at (default: the model's)")
    p.add_argument("--int8", action="store_true", help="static INT8 quantisation (QDQ), calibrated on --calib")
    p.add_argument("--calib", metavar="DIR|GLOB|JSON",
                   help="calibration images: a folder, a glob ('data/train/*.jpg') or a COCO annotation file "
                        "(top-down models then calibrate on its person crops); default: LSPET train from "
                        "../shared when present")  # fmt: skip
    p.add_argument("--calib-count", type=int, default=32, help="calibration images used, spread over --calib "
                                                                "(default 32)")  # fmt: skip
    p.add_argument("--out", required=True, help="output file: .onnx or .xml")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from featherpose.deploy.export import export_model
    from featherpose.deploy.util import has_module
    from featherpose.engine.checkpoint import CheckpointError, is_weights_file
    from featherpose.models import list_models

    from_file = args.model not in list_models() and is_weights_file(args.model)
    if not from_file and args.model not in list_models():
        raise CLIError(f"unknown model {args.model!r}; known: {', '.join(list_models())} "
                       "(or pass a .safetensors weights file)")  # fmt: skip
    if from_file and args.weights:
        raise CLIError(f"--model {args.model} is a weights file: do not pass --weights")
    out = Path(args.out)
    fmt = args.format or ("openvino" if out.suffix == ".xml" else "onnx")
    if out.suffix not in (".onnx", ".xml"):
        raise CLIError(f"--out {out}: expected a .onnx or .xml file name")
    if (fmt == "openvino") != (out.suffix == ".xml"):
        raise CLIError(f"--out {out}: {fmt} files end in {'.xml' if fmt == 'openvino' else '.onnx'}")
    needed = ["onnx", "onnxruntime" if args.int8 else "onnx"] + (["openvino"] if fmt == "openvino" else [])
    missing = [m for m in needed if not has_module(m)]
    if missing:
        raise CLIError(f"{', '.join(sorted(set(missing)))} not installed (pip install 'featherpose[deploy]')")
    if args.int8:
        from featherpose.deploy.quantize import calibration_images, default_calibration

        args.calib = args.calib or default_calibration()
        if args.calib is None:
            raise CLIError("--int8 needs --calib DIR|GLOB|JSON (calibration images; no ../shared/data beside here)")
        try:
            args.calib_count = len(calibration_images(args.calib, args.calib_count))  # a bad source fails here
        except ValueError as exc:
            raise CLIError(f"--calib: {exc}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            path = export_model(args.model, out, fmt, args.weights, args.input_size, args.int8, args.calib,
                                args.calib_count)  # fmt: skip
        except CheckpointError as exc:
            raise CLIError(str(exc)) from None
    for w in caught:
        if issubclass(w.category, UserWarning) and "weights" in str(w.message):
            print(f"warning: {w.message}")
    extra = f" + {path.with_suffix('.bin').name}" if fmt == "openvino" else ""
    calib = f", calibrated on {args.calib_count} of {args.calib}" if args.int8 else ""
    print(f"{args.model} -> {path}{extra} ({fmt}, {'int8' if args.int8 else 'fp32'}{calib})")
    return 0
