"""Export a registered model to ONNX or OpenVINO IR (fp32, or INT8 calibrated on real images).

* ONNX: ``torch.onnx.export`` (TorchScript exporter, opset 17), dynamic batch, and dynamic height /
  width for bottom-up models (their decoders take any size divisible by the stride). Outputs are
  flattened and named (``heatmaps_0, pafs_0, ...`` for the OpenPose family, ``output_i`` otherwise).
* OpenVINO: the ONNX graph through ``openvino.convert_model`` and saved with fp32 weights
  (``compress_to_fp16=False``); inference precision is chosen when the IR is compiled.
* The model's whole contract is stored inside the file (ONNX ``metadata_props`` / OpenVINO
  ``rt_info`` under ``featherpose``): the same schema as a weights file
  (:class:`featherpose.modelfile.ModelMeta`: model and builder overrides, keypoint set, codec,
  input size, normalisation, provenance) plus export-only fields, so ``PoseEstimator("model.onnx")``
  feeds and decodes it as the torch model (see :mod:`featherpose.inference.external`), custom
  keypoint sets included. ``model`` may be a registered name or a self-describing weights file.

INT8 lives in :mod:`featherpose.deploy.quantize`, what a file holds in :mod:`featherpose.deploy.files`.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from featherpose import pretrained
from featherpose.engine.checkpoint import is_weights_file, load_model, load_weights, weights_meta
from featherpose.modelfile import META_KEY, ModelMeta
from featherpose.models import get_spec, list_models
from featherpose.preprocess import parse_input_size, scaled_size

from .files import ExportInfo, read_info, set_onnx_info

FORMATS = ("onnx", "openvino")
OPSET = 17


class FlatOutputs(nn.Module):
    """Wrap a model so its (possibly nested) outputs come out as one flat tuple of tensors."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out: list[torch.Tensor] = []

        def walk(o: object) -> None:
            if isinstance(o, torch.Tensor):
                out.append(o)
            else:
                for item in o:  # type: ignore[union-attr]
                    walk(item)

        walk(self.model(x))
        return tuple(out)


def output_names(family: str, count: int) -> tuple[str, ...]:
    """Names of a model's flattened outputs: OpenPose stages alternate heatmaps / PAFs."""
    if family == "openpose" and count % 2 == 0:
        return tuple(f"{('heatmaps', 'pafs')[i % 2]}_{i // 2}" for i in range(count))
    return tuple(f"output_{i}" for i in range(count))


def load_for_export(
    model: str | Path, weights: str | Path | None = None, **overrides: object
) -> tuple[nn.Module, ModelMeta]:
    """The network to export (eval mode) and its metadata. ``model``: a self-describing weights file
    (``*.safetensors`` or a training directory), or a registered name with ``weights`` (a file, a
    shipped tag, or None: the shipped default, else random weights with a warning)."""
    if is_weights_file(model) and str(model) not in list_models():
        if weights is not None:
            raise ValueError(f"{model}: a weights file holds its weights; do not pass weights")
        return load_model(model, **overrides)
    name = str(model)
    spec = get_spec(name)
    path = pretrained.resolve(name, weights)
    meta = weights_meta(path, name) if path is not None else None
    net = meta.build(**overrides) if meta is not None else spec.build(**overrides)
    if path is not None:
        load_weights(net, path)
    else:
        warnings.warn(f"{name}: no weights given, exporting random weights", stacklevel=3)
    return net.eval(), meta or ModelMeta.for_model(name, net, model_args=overrides)


def build_for_export(name: str | Path, weights: str | Path | None = None, **overrides: object) -> nn.Module:
    """The model to export in eval mode (see :func:`load_for_export`; random weights warn)."""
    return load_for_export(name, weights, **overrides)[0]


def export_info(
    name: str, model: nn.Module, input_size: tuple[int, int], n_outputs: int, meta: ModelMeta | None = None
) -> ExportInfo:
    """The :class:`ExportInfo` of a file traced at ``input_size``: ``meta`` (default: registered
    model ``name``'s zoo entry, normalisation read from ``model``) and the export-only fields."""
    meta = meta or ModelMeta.for_model(name, model)
    family = meta.family or get_spec(meta.model).family
    return ExportInfo(replace(meta, input_size=tuple(input_size)), output_names(family, n_outputs),
                      dynamic_spatial=meta.paradigm == "bottom-up")  # fmt: skip


def default_input_size(
    name: str, input_size: int | str | Sequence[int] | None, default: tuple[int, int] | None = None
) -> tuple[int, int]:
    """The size to trace at: ``input_size`` (H, "HxW" or (H, W)) or ``default`` (the model's own),
    rounded up to 32."""
    return scaled_size(parse_input_size(input_size, default or get_spec(name).input_size), 1.0, 32)


def export_onnx(
    name: str,
    out: str | Path,
    weights: str | Path | None = None,
    input_size: int | str | Sequence[int] | None = None,
    model: nn.Module | None = None,
    opset: int = OPSET,
    meta: ModelMeta | None = None,
) -> Path:
    """Export ``name`` (a registered name with ``weights``, or a self-describing weights file; or an
    already built ``model`` described by ``meta``, default: the zoo entry of ``name``) to ONNX."""
    import onnx

    if model is None:
        model, meta = load_for_export(name, weights)
    net = model.eval()
    meta = meta or ModelMeta.for_model(str(name), net)
    size = default_input_size(meta.model, input_size, tuple(meta.input_size))
    flat = FlatOutputs(net).eval()  # a fresh module trains by default, and export restores that mode
    x = torch.zeros(1, 3, *size)
    with torch.inference_mode():
        n_out = len(flat(x))
    info = export_info(meta.model, net, size, n_out, meta)
    axes = {0: "batch", 2: "height", 3: "width"} if info.dynamic_spatial else {0: "batch"}
    dyn = {"input": axes} | {o: {0: "batch"} | ({2: f"{o}_h", 3: f"{o}_w"} if info.dynamic_spatial else {})
                             for o in info.output_names}  # fmt: skip
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(flat, (x,), str(out), input_names=["input"], output_names=list(info.output_names),
                          dynamic_axes=dyn, opset_version=opset, dynamo=False)  # fmt: skip
    proto = onnx.load(str(out))
    set_onnx_info(proto, info)
    onnx.save(proto, str(out))
    return out


def onnx_to_openvino(onnx_path: str | Path, out_xml: str | Path, info: ExportInfo | None = None) -> Path:
    """Convert an ONNX file to an OpenVINO IR (``.xml`` + ``.bin``, fp32 weights)."""
    import openvino as ov

    model = ov.convert_model(str(onnx_path))
    info = info or read_info(onnx_path)
    if info is not None:
        model.set_rt_info(info.to_json(), [META_KEY, "info"])
    out_xml = Path(out_xml)
    out_xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(out_xml), compress_to_fp16=False)
    return out_xml


def export_model(
    name: str,
    out: str | Path,
    fmt: str | None = None,
    weights: str | Path | None = None,
    input_size: int | str | Sequence[int] | None = None,
    int8: bool = False,
    calib: str | Path | None = None,
    calib_count: int = 32,
    model: nn.Module | None = None,
    meta: ModelMeta | None = None,
) -> Path:
    """Export ``name`` (a registered name, or a self-describing weights file) to ``out`` as ``fmt``
    ("onnx" or "openvino"; default from the suffix: ``.xml`` is OpenVINO). ``int8``: quantise
    statically, calibrating on up to ``calib_count`` images from the folder ``calib``
    (preprocessed as the estimator does)."""
    out = Path(out)
    fmt = fmt or ("openvino" if out.suffix == ".xml" else "onnx")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if int8 and calib is None:
        raise ValueError("INT8 export needs calibration images (calib=DIR)")
    if model is None:
        model, meta = load_for_export(name, weights)
    if fmt == "onnx" and not int8:
        return export_onnx(name, out, input_size=input_size, model=model, meta=meta)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(name, Path(tmp) / "model.onnx", input_size=input_size, model=model, meta=meta)
        if int8:
            from .quantize import quantize_onnx

            target = out if fmt == "onnx" else Path(tmp) / "model_int8.onnx"
            quantize_onnx(fp32, target, calib, calib_count)
            if fmt == "onnx":
                return out
            return onnx_to_openvino(target, out)
        return onnx_to_openvino(fp32, out)
