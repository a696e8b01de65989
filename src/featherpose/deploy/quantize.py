"""Static INT8 quantisation of an exported ONNX model (onnxruntime, QDQ format), calibrated on real
images preprocessed exactly as :class:`~featherpose.inference.PoseEstimator` feeds the network.

Weights: int8 per output channel (symmetric); activations: uint8 per tensor, ranges from the min / max
seen on the calibration images. The QDQ graph runs on onnxruntime and converts to an OpenVINO IR whose
int8 parts run as int8 (``featherpose export --int8 --format openvino``). :func:`export_inputs` gives
the calibration inputs (real images as the estimator preprocesses them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from featherpose.io import load_image
from featherpose.models import get_spec
from featherpose.preprocess import Normalisation, crop_matrices, fit_image, warp_crops

from .files import check_model_file, read_info, set_onnx_info
from .util import has_module

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def calibration_images(folder: str | Path, count: int = 32) -> list[Path]:
    """The first ``count`` images of ``folder`` (sorted by name)."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"calibration folder {folder}: no images")
    return files[: max(1, int(count))]


def export_inputs(
    name: str,
    images: Sequence[str | Path | np.ndarray],
    input_size: tuple[int, int],
    model: torch.nn.Module | None = None,
) -> np.ndarray:
    """Real images preprocessed as :class:`~featherpose.inference.PoseEstimator` does, one network input
    each: bottom-up = resize keeping the aspect and pad; top-down = a centred crop of the whole image."""
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


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence onnxruntime's per-node warnings (root logger and its C++ logger) while quantising."""
    import onnxruntime as ort

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    ort.set_default_logger_severity(3)
    try:
        yield
    finally:
        root.setLevel(level)
        ort.set_default_logger_severity(2)


class ImageBatches:
    """An onnxruntime ``CalibrationDataReader``: one preprocessed image per ``get_next()``."""

    def __init__(self, inputs: np.ndarray, input_name: str = "input") -> None:
        self.inputs, self.input_name = inputs, input_name
        self._it: Iterator[np.ndarray] = iter(())
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self._it, None)
        return None if x is None else {self.input_name: x[None]}

    def rewind(self) -> None:
        self._it = iter(self.inputs)


def quantize_onnx(
    fp32_path: str | Path,
    out: str | Path,
    calib: str | Path | Sequence[str | Path],
    calib_count: int = 32,
) -> Path:
    """Quantise a featherpose ONNX export to INT8 (QDQ) at ``out``, calibrating on ``calib`` (a folder
    or a list of image files). A missing package or an unreadable ``fp32_path`` fails with one line."""
    missing = [m for m in ("onnx", "onnxruntime") if not has_module(m)]
    if missing:
        raise ValueError(f"INT8 quantisation needs {' and '.join(missing)} (pip install {' '.join(missing)})")
    check_model_file(fp32_path)
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    info = read_info(fp32_path)
    if info is None:
        raise ValueError(f"{fp32_path}: not a featherpose export (no input contract stored)")
    files = calibration_images(calib, calib_count) if isinstance(calib, str | Path) else list(calib)
    inputs = export_inputs(info.model, files, tuple(info.input_size))
    reader = ImageBatches(inputs)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _quiet():
        quantize_static(str(fp32_path), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    proto = onnx.load(str(out))
    set_onnx_info(proto, type(info)(**{**info.__dict__, "precision": "int8"}))
    onnx.save(proto, str(out))
    return out
