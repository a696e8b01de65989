"""Model files as estimator models: ``PoseEstimator("model.onnx" | "model.xml")``.

Two kinds of file:

* **exported by featherpose** (``featherpose export``): the file carries its registered model name,
  normalisation and input size (:class:`featherpose.export.ExportInfo`), so it runs exactly like the
  torch model, with that model's head and codec;
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
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from featherpose.models import ModelSpec, get_spec
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

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file {path}: not found")
    if path.suffix == ".xml" and not path.with_suffix(".bin").is_file():
        raise ValueError(f"model file {path}: its weights {path.with_suffix('.bin').name} are missing")
    backend, precision = resolve(backend, precision, device, model_file=path)
    if backend == "torch":
        raise ValueError(f"{path.name}: a model file needs onnxruntime or openvino (pip install 'featherpose[deploy]')")
    info = read_info(path)
    runner = file_runner(path, backend, precision, threads)
    if info is not None:  # exported by featherpose: the registered model's head and codec
        spec = get_spec(info.model)
        if not info.dynamic_spatial:  # top-down files are fixed-size
            spec = replace(spec, input_size=tuple(info.input_size))
        norm = Normalisation(info.mean, info.std, info.channel_order)
        return ExternalModel(path, spec, norm, runner, backend, precision, False)
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
