"""Static INT8 quantisation of an exported ONNX model (onnxruntime, QDQ format), calibrated on real
images preprocessed exactly as :class:`~featherpose.inference.PoseEstimator` feeds the network.

Calibration sources: a folder, a glob, a COCO annotation file (top-down models then calibrate on the
annotated person crops) or a list of files; :func:`default_calibration` finds LSPET train beside the tree.

Weights: int8 per output channel (symmetric); activations: uint8 per tensor, ranges from the min / max
seen on the calibration images. The QDQ graph runs on onnxruntime and converts to an OpenVINO IR whose
int8 parts run as int8 (``featherpose export --int8 --format openvino``). :func:`export_inputs` gives
the calibration inputs (real images as the estimator preprocesses them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
# Calibration images used when none are given and the project's shared data sits beside the working
# directory or the source tree: LSPET train (the shipped weights' own training images, one person each,
# with its person boxes), else coco-mini train2017. Neither is part of any held-out score.
DEFAULT_CALIB = ("shared/data/lspet/annotations/lspet_train.json", "shared/data/coco-mini/train2017")

Calib = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class CalibImage:
    """One calibration image and, when an annotation file gave them, its person boxes (M, 4) x, y, w, h."""

    path: Path
    boxes: np.ndarray | None = None


def default_calibration() -> Path | None:
    """:data:`DEFAULT_CALIB`'s first entry found beside the working directory or the source tree, else None."""
    roots = (Path.cwd().parent, Path(__file__).resolve().parents[3])
    for rel in DEFAULT_CALIB:
        for root in roots:
            if (root / rel).exists():
                return root / rel
    return None


def _spread(items: list, count: int) -> list:
    """``count`` items spread evenly over ``items`` (all of them when there are fewer)."""
    count = max(1, int(count))
    if len(items) <= count:
        return items
    return [items[int(i * len(items) / count)] for i in range(count)]


def _from_annotations(path: Path, count: int) -> list[CalibImage]:
    """The images of a COCO keypoint annotation file (in its ``images/`` or sibling image folder), each
    with its annotated person boxes."""
    import json

    try:
        data = json.loads(path.read_text())
        images = data["images"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"calibration file {path}: not a COCO annotation file ({exc})") from None
    boxes: dict[int, list] = {}
    for a in data.get("annotations", []):
        if not a.get("iscrowd", 0) and a.get("num_keypoints", 1) > 0 and min(a["bbox"][2:]) > 1:
            boxes.setdefault(a["image_id"], []).append(a["bbox"])
    folders = [path.parent.parent / "images", path.parent.parent / path.stem.split("_")[-1], path.parent]
    with_people = [im for im in images if im["id"] in boxes]
    out = []
    for im in _spread(with_people, count):
        found = next((f / im["file_name"] for f in folders if (f / im["file_name"]).is_file()), None)
        if found is None:
            raise ValueError(f"calibration file {path}: image {im['file_name']} not found beside it")
        out.append(CalibImage(found, np.asarray(boxes[im["id"]], np.float64)))
    return out


def calibration_images(source: Calib, count: int = 32) -> list[CalibImage]:
    """Up to ``count`` calibration images, spread evenly over ``source``: a folder of images, a glob
    pattern (``"data/*/train/*.jpg"``), a COCO annotation ``.json`` (its images with their person
    boxes, so that top-down models calibrate on person crops) or a list of image files. A source
    that gives no image fails with one line naming it."""
    if not isinstance(source, str | Path):
        files = [Path(f) for f in source]
        if not files:
            raise ValueError("calibration images: the list is empty")
        return [CalibImage(f) for f in _spread(files, count)]
    path = Path(source)
    if path.suffix.lower() == ".json" and path.is_file():
        return _from_annotations(path, count)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"calibration folder {source}: no images")
    else:
        import glob

        if not glob.has_magic(str(source)):
            raise ValueError(f"calibration images {source}: not found (a folder, a glob or a COCO .json)")
        found = (Path(p) for p in glob.glob(str(source), recursive=True))
        files = sorted(p for p in found if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"calibration pattern {source}: no images match")
    return [CalibImage(f) for f in _spread(files, count)]


def export_inputs(
    name: str,
    images: Sequence[str | Path | np.ndarray | CalibImage],
    input_size: tuple[int, int],
    model: torch.nn.Module | None = None,
    box_padding: float = 1.25,
) -> np.ndarray:
    """Real images preprocessed as :class:`~featherpose.inference.PoseEstimator` does, one network input
    each: bottom-up = resize keeping the aspect and pad; top-down = one crop per annotated person box
    (a :class:`CalibImage` with boxes, grown by ``box_padding`` as the estimator does), else a centred
    crop of the whole image."""
    spec = get_spec(name)
    norm = Normalisation.for_model(model if model is not None else spec.build())
    out = []
    for im in images:
        boxes = im.boxes if isinstance(im, CalibImage) else None
        pixels = load_image(im.path if isinstance(im, CalibImage) else im)
        if spec.paradigm == "bottom-up":
            out.append(fit_image(pixels, input_size)[0])
        elif boxes is not None and len(boxes):
            out.extend(warp_crops(pixels, crop_matrices(boxes, input_size, padding=box_padding), input_size))
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
    calib: Calib,
    calib_count: int = 32,
) -> Path:
    """Quantise a featherpose ONNX export to INT8 (QDQ) at ``out``, calibrating on ``calib`` (see
    :func:`calibration_images`: a folder, a glob, a COCO annotation file or a list of image files).
    A missing package or an unreadable ``fp32_path`` fails with one line."""
    missing = [m for m in ("onnx", "onnxruntime") if not has_module(m)]
    if missing:
        raise ValueError(f"INT8 quantisation needs {' and '.join(missing)} (pip install {' '.join(missing)})")
    check_model_file(fp32_path)
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    info = read_info(fp32_path)
    if info is None:
        raise ValueError(f"{fp32_path}: not a featherpose export (no input contract stored)")
    inputs = export_inputs(info.model, calibration_images(calib, calib_count), tuple(info.input_size))
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
