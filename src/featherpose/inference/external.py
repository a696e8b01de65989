"""Model files as estimator models: ``PoseEstimator("model.onnx" | "model.xml")``.

Two kinds of file:

* **exported by featherpose** (``featherpose export``): the file carries the model's metadata
  (:class:`featherpose.export.ExportInfo`: keypoint set, codec, input size, normalisation), so it runs
  exactly like the torch model, with that model's head, codec and keypoint set;
* **external, OpenPose contract** (e.g. Intel's ``human-pose-estimation-0001``): outputs are K + 1
  heatmaps (background last) and 2 x limbs PAFs of the OpenPose-18 skeleton at stride 8, told apart by
  their channel counts (19 vs 38), PAF channels in the reference (CMU) layout; the input is taken
  as BGR 0-255 float32 that the file normalises itself (OMZ IRs do: x / 255 - 0.5).
  :class:`ExternalContract` overrides every guess (channel order, mean / std, which output is which,
  PAF layout, default input size).

With an external OpenPose file and a height-only input size (``--input-size 368``) the network input
is that height with the width following each image's aspect ratio, padded to the stride, as in the
OMZ demo and the reference implementation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from featherpose.modelfile import ModelMeta
from featherpose.models import ModelSpec
from featherpose.skeletons import OPENPOSE18

from .preprocess import Normalisation
from .runner import Runner

MODEL_SUFFIXES = (".onnx", ".xml")


def is_model_file(model: object) -> bool:
    """Is ``model`` a path to an ONNX / OpenVINO file (rather than a registered model name)?"""
    return isinstance(model, str | Path) and Path(model).suffix.lower() in MODEL_SUFFIXES


@dataclass(frozen=True)
class ExternalContract:
    """How to feed an external OpenPose-contract model and read its outputs.

    ``order``: channel order the network wants ("BGR" / "RGB"); the input is
    ``(pixel - mean) / std`` on 0-255 values. ``heatmaps`` / ``pafs``: output names (None: by
    channel count, K + 1 or K heatmaps and 2 x limbs PAFs; the last output of each kind wins).
    ``input_size``: default network input (H, W) (None: the file's static shape, else 368 x 368).
    PAF channels are expected in the reference (CMU / Lightweight OpenPose / OMZ) layout, which is
    also featherpose's (``featherpose.codecs.openpose.REFERENCE_PAF_CHANNELS``).
    """

    order: str = "BGR"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    heatmaps: str | None = None
    pafs: str | None = None
    stride: int = 8
    input_size: tuple[int, int] | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, value: ExternalContract | dict | str | Path | None) -> ExternalContract:
        """A contract from None (defaults), a dict, a JSON string or a JSON file."""
        if value is None or isinstance(value, ExternalContract):
            return value or cls()
        if isinstance(value, str | Path) and Path(value).suffix == ".json":
            value = Path(value).read_text()
        data = json.loads(value) if isinstance(value, str) else dict(value)
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown contract keys {sorted(unknown)}; known: {sorted(known)}")
        for key in ("mean", "std", "input_size"):
            if data.get(key) is not None:
                data[key] = tuple(float(v) if key != "input_size" else int(v) for v in data[key])
        if "order" in data:
            data["order"] = str(data["order"]).upper()
            if data["order"] not in ("BGR", "RGB"):
                raise ValueError(f"contract order must be BGR or RGB, got {data['order']!r}")
        return cls(**data)


class OpenPoseOutputs:
    """Wrap a file runner so its outputs come as [heatmaps, pafs] (the OpenPose head's order)."""

    def __init__(self, runner: Runner, names: Sequence[str], contract: ExternalContract) -> None:
        self.runner, self.names, self.contract = runner, list(names), contract
        self._order: tuple[int, int] | None = None

    def pick(self, outputs: list[np.ndarray]) -> tuple[int, int]:
        """Indices of the heatmap and PAF outputs (by name when the contract names them)."""
        k, limbs = OPENPOSE18.num_keypoints, len(OPENPOSE18.limbs)
        c = self.contract

        def find(name: str | None, channels: tuple[int, ...], what: str) -> int:
            if name is not None:
                if name not in self.names:
                    raise ValueError(f"contract {what}={name!r}: the model's outputs are {self.names}")
                return self.names.index(name)
            hits = [i for i, o in enumerate(outputs) if o.ndim == 4 and o.shape[1] in channels]
            if not hits:
                shapes = {n: o.shape for n, o in zip(self.names, outputs, strict=True)}
                raise ValueError(f"no {what} output with {' or '.join(map(str, channels))} channels in {shapes}; "
                                 f"name it in the contract")  # fmt: skip
            return hits[-1]

        return find(c.heatmaps, (k + 1, k), "heatmaps"), find(c.pafs, (2 * limbs,), "pafs")

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        outputs = self.runner(batch)
        if self._order is None:
            self._order = self.pick(outputs)
        return [outputs[self._order[0]], outputs[self._order[1]]]


@dataclass
class ExternalModel:
    """A model file ready for the estimator: spec (head / codec choice), normalisation, runner."""

    path: Path
    spec: ModelSpec
    normalisation: Normalisation
    runner: Runner
    backend: str
    precision: str
    width_follows_image: bool  # bottom-up input: fixed height, width from each image's aspect ratio
    meta: ModelMeta | None = None  # featherpose exports: the model's metadata (keypoint set, codec, ...)


def _static_hw(path: Path) -> tuple[int, int] | None:
    """The (H, W) of a file's input when both are static, else None."""
    try:
        if path.suffix == ".onnx":
            import onnx

            dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
            hw = [d.dim_value if d.HasField("dim_value") else 0 for d in dims][2:4]
        else:
            import openvino as ov

            shape = ov.Core().read_model(str(path)).inputs[0].get_partial_shape()
            hw = [d.get_length() if d.is_static else 0 for d in list(shape)[2:4]]
    except Exception:  # noqa: BLE001  (a shape we cannot read is simply not static)
        return None
    return (int(hw[0]), int(hw[1])) if len(hw) == 2 and min(hw) > 0 else None


def check_model_file(path: str | Path) -> Path:
    """``path`` as a model file that can be opened, else a ``ValueError`` of one line naming it:
    missing, empty, not the format its suffix says, or truncated. ONNX: parsed with ``onnx`` (which
    reading a file's stored contract needs) and a graph, inputs, outputs and opset present. OpenVINO
    IR: the XML parsed, its root a ``<net>`` with ``<layers>``, and the ``.bin`` beside it holding every
    constant's ``offset + size`` bytes."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {path}: not found")
    if path.stat().st_size == 0:
        raise ValueError(f"model file {path}: empty file")
    suffix = path.suffix.lower()
    if suffix == ".xml":
        _check_ir(path)
    elif suffix == ".onnx":
        _check_onnx(path)
    return path


def _check_onnx(path: Path) -> None:
    from .backends import has_module, one_line

    if not has_module("onnx"):
        raise ValueError(f"model file {path}: reading an .onnx file needs the onnx package (pip install onnx)")
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001  (protobuf DecodeError and friends)
        reason = one_line(exc)
        raise ValueError(f"model file {path}: not a readable ONNX model, corrupt or truncated ({reason})") from None
    graph = proto.graph
    missing = [what for what, ok in (("nodes", graph.node), ("inputs", graph.input), ("outputs", graph.output),
                                     ("opset", proto.opset_import)) if not ok]  # fmt: skip
    if missing:
        raise ValueError(f"model file {path}: not a complete ONNX model, corrupt or truncated "
                         f"(no {', '.join(missing)})")  # fmt: skip


def _check_ir(path: Path) -> None:
    import xml.etree.ElementTree as ET

    weights = path.with_suffix(".bin")
    if not weights.is_file():
        raise ValueError(f"model file {path}: its weights {weights.name} are missing")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"model file {path}: not a readable OpenVINO IR, corrupt or truncated XML ({exc})") from None
    if root.tag != "net" or root.find("layers") is None:
        raise ValueError(f"model file {path}: not an OpenVINO IR (root <{root.tag}>, expected <net> with <layers>)")
    need = 0
    for layer in root.iter("layer"):
        data = layer.find("data")
        if layer.get("type") != "Const" or data is None or data.get("offset") is None:
            continue
        try:
            need = max(need, int(data.get("offset", "")) + int(data.get("size", "")))
        except ValueError:
            name = layer.get("name")
            raise ValueError(f"model file {path}: layer {name!r} has a bad weights offset / size") from None
    size = weights.stat().st_size
    if size < need:
        raise ValueError(f"model file {path}: its weights {weights.name} are truncated ({size} bytes, the graph reads "
                         f"{need})")  # fmt: skip


def load_external(
    path: str | Path,
    backend: str = "auto",
    precision: str = "auto",
    device: str = "cpu",
    input_size: object = None,
    contract: ExternalContract | dict | str | Path | None = None,
    threads: int | None = None,
) -> ExternalModel:
    """Open an exported or external model file (see the module docstring)."""
    from featherpose.export import read_info

    from .backends import file_runner, resolve

    path = check_model_file(path)
    backend, precision = resolve(backend, precision, device, model_file=path)
    if backend == "torch":
        raise ValueError(f"{path.name}: a model file needs onnxruntime or openvino (pip install 'featherpose[deploy]')")
    info = read_info(path)
    runner = file_runner(path, backend, precision, threads)
    if info is not None:  # exported by featherpose: the model's own head, codec and keypoint set
        meta = info.meta
        return ExternalModel(path, meta.spec, meta.normalisation, runner, backend, precision, False, meta)
    c = ExternalContract.parse(contract)
    default = c.input_size or _static_hw(path) or (368, 368)
    spec = ModelSpec(
        name=str(path), family="openpose", paradigm="bottom-up", keypoints=OPENPOSE18.name,
        input_size=tuple(default), builder=lambda **_: None, paper=f"external model file {path.name}",
    )  # fmt: skip
    names = list(getattr(runner, "output_names", []))
    wrapped = OpenPoseOutputs(runner, names, c)
    follows = input_size is None or isinstance(input_size, int) or (
        isinstance(input_size, str) and "x" not in input_size.lower() and "," not in input_size
    )  # fmt: skip
    return ExternalModel(path, spec, Normalisation(c.mean, c.std, c.order), wrapped, backend, precision, follows)


def aspect_size(height: int, image_hw: tuple[int, int], divisor: int) -> tuple[int, int]:
    """Network input for one image: ``height``, the width following the image's aspect ratio, both
    rounded up to ``divisor``."""
    h, w = image_hw
    width = max(divisor, int(-(-round(w * height / h) // divisor) * divisor))
    return int(-(-height // divisor) * divisor), width
