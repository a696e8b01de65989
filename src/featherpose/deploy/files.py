"""Model files (ONNX ``.onnx`` / OpenVINO ``.xml`` + ``.bin``): what a featherpose export stores
inside (:class:`ExportInfo`, read with :func:`read_info`), and checking that a file can be opened
(:func:`check_model_file`, one line naming what is wrong)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from featherpose.data.transforms import Normalisation
from featherpose.modelfile import META_KEY, ModelMeta
from featherpose.skeletons import get_keypoint_set

from .util import has_module, one_line

MODEL_SUFFIXES = (".onnx", ".xml")


def is_model_file(model: object) -> bool:
    """Is ``model`` a path to an ONNX / OpenVINO file (rather than a registered model name)?"""
    return isinstance(model, str | Path) and Path(model).suffix.lower() in MODEL_SUFFIXES


@dataclass(frozen=True)
class ExportInfo:
    """What an exported file holds: the model's :class:`~featherpose.modelfile.ModelMeta` (its
    ``input_size`` is the size the file was traced at) plus export-only fields. Stored as the
    metadata JSON with an ``"export"`` object added."""

    meta: ModelMeta
    output_names: tuple[str, ...]
    dynamic_spatial: bool  # bottom-up files take any height / width
    precision: str = "fp32"  # "fp32" or "int8"

    @property
    def model(self) -> str:
        return self.meta.model

    @property
    def paradigm(self) -> str:
        return self.meta.paradigm

    @property
    def keypoints(self) -> str:
        return self.meta.keypoint_set.name

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(self.meta.input_size)  # type: ignore[return-value]

    @property
    def mean(self) -> tuple[float, float, float]:
        return self.meta.normalisation.mean

    @property
    def std(self) -> tuple[float, float, float]:
        return self.meta.normalisation.std

    @property
    def channel_order(self) -> str:
        return self.meta.normalisation.order

    def to_json(self) -> str:
        export = {"output_names": list(self.output_names), "dynamic_spatial": self.dynamic_spatial,
                  "precision": self.precision}  # fmt: skip
        return json.dumps({**self.meta.to_dict(), "export": export}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ExportInfo:
        """Read the stored JSON: the schema with ``"export"``, or the flat form of earlier exports."""
        d = json.loads(text)
        if "schema" in d:
            ex = d.get("export") or {}
            return cls(ModelMeta.from_dict(d), tuple(ex.get("output_names", ())), bool(ex.get("dynamic_spatial")),
                       str(ex.get("precision", "fp32")))  # fmt: skip
        dynamic = bool(d["dynamic_spatial"])  # earlier flat form: the rest comes from the zoo
        meta = ModelMeta.for_model(
            d["model"], input_size=None if dynamic else tuple(d["input_size"]),
            keypoint_set=get_keypoint_set(d["keypoints"]),
        )  # fmt: skip
        norm = Normalisation(tuple(d["mean"]), tuple(d["std"]), str(d["channel_order"]).upper())
        return cls(replace(meta, normalisation=norm), tuple(d["output_names"]), dynamic, d.get("precision", "fp32"))


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


def static_hw(path: Path) -> tuple[int, int] | None:
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
