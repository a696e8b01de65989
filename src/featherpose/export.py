"""Export a registered model to ONNX or OpenVINO IR (fp32, or INT8 calibrated on real images).

* ONNX: ``torch.onnx.export`` (TorchScript exporter, opset 17), dynamic batch, and dynamic height /
  width for bottom-up models (their decoders take any size divisible by the stride). Outputs are
  flattened and named (``heatmaps_0, pafs_0, ...`` for the OpenPose family, ``output_i`` otherwise).
* OpenVINO: the ONNX graph through ``openvino.convert_model`` and saved with fp32 weights
  (``compress_to_fp16=False``); inference precision is chosen when the IR is compiled.
* The model's input contract (normalisation, channel order, paradigm, keypoint set, input size) is
  stored inside the file (ONNX ``metadata_props`` / OpenVINO ``rt_info`` under ``featherpose``), so
  ``PoseEstimator("model.onnx")`` knows how to feed and decode it (see
  :mod:`featherpose.inference.external`).

INT8 lives in :mod:`featherpose.quantize`.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from featherpose.models import get_spec

FORMATS = ("onnx", "openvino")
OPSET = 17
META_KEY = "featherpose"


@dataclass(frozen=True)
class ExportInfo:
    """What an exported file holds: enough to feed it and decode its outputs without the zoo."""

    model: str  # the registered model name
    paradigm: str
    keypoints: str
    input_size: tuple[int, int]  # the size it was traced at (H, W)
    dynamic_spatial: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channel_order: str  # "RGB" or "BGR": the order the network expects
    output_names: tuple[str, ...]
    precision: str = "fp32"  # "fp32" or "int8"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ExportInfo:
        d = json.loads(text)
        for key in ("input_size", "mean", "std", "output_names"):
            d[key] = tuple(d[key])
        return cls(**d)


class _Flat(nn.Module):
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


def build_for_export(name: str, weights: str | Path | None = None, **overrides: object) -> nn.Module:
    """The registered model ``name`` in eval mode, with ``weights`` loaded (random weights warn)."""
    from featherpose.inference.weights import load_weights

    net = get_spec(name).build(**overrides)
    if weights is not None:
        load_weights(net, weights)
    else:
        warnings.warn(f"{name}: no weights given, exporting random weights", stacklevel=2)
    return net.eval()


def export_info(name: str, model: nn.Module, input_size: tuple[int, int], n_outputs: int) -> ExportInfo:
    """The :class:`ExportInfo` of registered model ``name`` (its normalisation read from ``model``)."""
    from featherpose.inference.preprocess import Normalisation

    spec = get_spec(name)
    norm = Normalisation.for_model(model)
    return ExportInfo(
        model=name, paradigm=spec.paradigm, keypoints=spec.keypoints, input_size=tuple(input_size),
        dynamic_spatial=spec.paradigm == "bottom-up", mean=norm.mean, std=norm.std, channel_order=norm.order,
        output_names=output_names(spec.family, n_outputs),
    )  # fmt: skip


def default_input_size(name: str, input_size: int | str | Sequence[int] | None) -> tuple[int, int]:
    """The size to trace at: ``input_size`` (H, "HxW" or (H, W)) or the model's own, rounded up to 32."""
    from featherpose.inference.estimator import parse_input_size
    from featherpose.inference.preprocess import scaled_size

    return scaled_size(parse_input_size(input_size, get_spec(name).input_size), 1.0, 32)


def export_onnx(
    name: str,
    out: str | Path,
    weights: str | Path | None = None,
    input_size: int | str | Sequence[int] | None = None,
    model: nn.Module | None = None,
    opset: int = OPSET,
) -> Path:
    """Export registered model ``name`` (or an already built ``model`` of that name) to ONNX at ``out``."""
    import onnx

    size = default_input_size(name, input_size)
    net = (model if model is not None else build_for_export(name, weights)).eval()
    flat = _Flat(net).eval()  # a fresh module trains by default, and export restores that mode
    x = torch.zeros(1, 3, *size)
    with torch.inference_mode():
        n_out = len(flat(x))
    info = export_info(name, net, size, n_out)
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


def set_onnx_info(proto: object, info: ExportInfo) -> None:
    """Store ``info`` in an ONNX ModelProto's metadata (replacing an earlier one)."""
    props = proto.metadata_props  # type: ignore[attr-defined]
    for p in [p for p in props if p.key == META_KEY]:
        props.remove(p)
    entry = props.add()
    entry.key, entry.value = META_KEY, info.to_json()


def read_info(path: str | Path) -> ExportInfo | None:
    """The :class:`ExportInfo` stored in an exported ``.onnx`` / ``.xml`` file, or None (external model)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        text = next((p.value for p in proto.metadata_props if p.key == META_KEY), None)
    else:
        import openvino as ov

        model = ov.Core().read_model(str(path))
        text = model.get_rt_info([META_KEY, "info"]).astype(str) if model.has_rt_info([META_KEY, "info"]) else None
    return ExportInfo.from_json(text) if text else None


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
) -> Path:
    """Export ``name`` to ``out`` as ``fmt`` ("onnx" or "openvino"; default from the suffix: ``.xml``
    is OpenVINO). ``int8``: quantise statically, calibrating on up to ``calib_count`` images from
    the folder ``calib`` (preprocessed as the estimator does)."""
    out = Path(out)
    fmt = fmt or ("openvino" if out.suffix == ".xml" else "onnx")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if int8 and calib is None:
        raise ValueError("INT8 export needs calibration images (calib=DIR)")
    if fmt == "onnx" and not int8:
        return export_onnx(name, out, weights, input_size, model)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(name, Path(tmp) / "model.onnx", weights, input_size, model)
        if int8:
            from featherpose.quantize import quantize_onnx

            target = out if fmt == "onnx" else Path(tmp) / "model_int8.onnx"
            quantize_onnx(fp32, target, calib, calib_count)
            if fmt == "onnx":
                return out
            return onnx_to_openvino(target, out)
        return onnx_to_openvino(fp32, out)


def export_inputs(
    name: str, images: Sequence[str | Path | np.ndarray], input_size: tuple[int, int], model: nn.Module | None = None
) -> np.ndarray:
    """Real images preprocessed as :class:`~featherpose.inference.PoseEstimator` does, one network input
    each: bottom-up = resize keeping the aspect and pad; top-down = a centred crop of the whole image."""
    from featherpose.inference.preprocess import Normalisation, crop_matrices, fit_image, warp_crops
    from featherpose.io import load_image

    spec = get_spec(name)
    norm = Normalisation.for_model(model if model is not None else spec.build())
    out = []
    for im in images:
        pixels = load_image(im)
        if spec.paradigm == "bottom-up":
            out.append(fit_image(pixels, input_size)[0])
        else:
            h, w = pixels.shape[:2]
            box = np.array([[w * 0.1, h * 0.05, w * 0.8, h * 0.9]])
            out.append(warp_crops(pixels, crop_matrices(box, input_size), input_size)[0])
    return norm(np.stack(out))
