"""Model files as estimator models: ``PoseEstimator("model.onnx" | "model.xml")``.

Two kinds of file:

* **exported by featherpose** (``featherpose export``): the file carries the model's metadata
  (:class:`featherpose.deploy.files.ExportInfo`: keypoint set, codec, input size, normalisation), so it runs
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

Reading and checking the files themselves (``read_info``, ``check_model_file``, ``is_model_file``)
and their runners live in :mod:`featherpose.deploy`; they are re-exported here (old import path).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from featherpose.deploy.backends import file_runner, resolve
from featherpose.deploy.files import MODEL_SUFFIXES, check_model_file, is_model_file, read_info, static_hw  # noqa: F401
from featherpose.deploy.runners import Runner
from featherpose.modelfile import ModelMeta
from featherpose.models import ModelSpec
from featherpose.preprocess import Normalisation
from featherpose.skeletons import OPENPOSE18


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
    dynamic_spatial: bool = False  # featherpose exports of bottom-up models take any input size


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
    path = check_model_file(path)
    backend, precision = resolve(backend, precision, device, model_file=path)
    if backend == "torch":
        raise ValueError(f"{path.name}: a model file needs onnxruntime or openvino (pip install 'featherpose[deploy]')")
    info = read_info(path)
    runner = file_runner(path, backend, precision, threads)
    if info is not None:  # exported by featherpose: the model's own head, codec and keypoint set
        meta = info.meta
        return ExternalModel(path, meta.spec, meta.normalisation, runner, backend, precision, False, meta,
                             bool(info.dynamic_spatial))  # fmt: skip
    c = ExternalContract.parse(contract)
    default = c.input_size or static_hw(path) or (368, 368)
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
