"""onnxruntime and OpenVINO runners, and the ``"auto"`` backend (the fastest one installed).

Registered in :data:`featherpose.deploy.runners.RUNNERS` (``featherpose.inference.RUNNERS``) when this
module is imported (``featherpose.inference`` imports it):

* ``"onnxruntime"``: CPU execution provider, fp32 (INT8 = a quantised QDQ file, see
  :mod:`featherpose.deploy.quantize`);
* ``"openvino"``: CPU plug-in; ``precision`` ``"fp32"`` (``INFERENCE_PRECISION_HINT=f32``, bit-close
  to PyTorch), ``"bf16"`` (native on CPUs with AVX512-BF16 / AMX, ~2x faster, ~1e-3 drift) or
  ``"int8"`` (only for quantised files: the int8 parts run as int8, the rest in fp32);
* ``"auto"``: OpenVINO when it is installed and the device is the CPU, else torch; precision
  :func:`auto_precision` (bf16 for float networks where the CPU has it natively, else fp32) — see
  docs/deployment.md for the measurement behind this choice.

A registered torch model is converted once and the converted file cached in ``$FEATHERPOSE_CACHE``
(default ``~/.cache/featherpose``) under a hash of its weights and input size: for OpenVINO through an
ONNX export when ``onnx`` is installed, else by ``openvino.convert_model`` straight from the torch
module (same graph, outputs equal to float32 rounding); onnxruntime always needs the ONNX export.
When ``"auto"`` cannot convert a model it runs it on torch, saying why in one warning (once).
The OpenVINO runner reshapes the file's input to a free batch / height / width, so static-shaped
files such as Intel's IRs run at any size their graph allows.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from featherpose.models import get_spec
from featherpose.preprocess import scaled_size

from .export import FlatOutputs, export_onnx, onnx_to_openvino
from .runners import RUNNERS, Runner, register_runner
from .util import BackendUnavailable, has_module, one_line

PRECISIONS = ("auto", "fp32", "bf16", "int8")
# Families whose networks run slower in bf16 than in fp32 on OpenVINO's CPU plug-in (small hard-swish /
# SE layers: the conversions cost more than they save): MobilePoseNet 1.5-1.8x slower in bf16 in
# `featherpose bench`, 14.1 vs 17.9 ms for the shipped weights (docs/benchmarks.md). ``auto`` keeps fp32.
BF16_SLOWER_FAMILIES = frozenset({"mobileposenet"})
_CACHE_SHAPES = 4
# A dynamic-shape compile runs 4-17% slower than a static one on this CPU (MobilePoseNet fp32 12.5 vs
# 10.6 ms, GhostPose bf16 22.0 vs 18.3 ms, batch 1, interleaved): an input shape seen STATIC_AFTER
# times gets its own static executable, at most MAX_STATIC_COMPILES per runner (so images of
# ever-changing sizes soon stay on the one dynamic executable, with no compile in their way).
STATIC_AFTER = 3
MAX_STATIC_COMPILES = _CACHE_SHAPES
_WARNED: set[str] = set()  # fallback warnings already given in this process


def native_bf16() -> bool:
    """Does OpenVINO's CPU plug-in run bf16 natively on this machine?"""
    if not has_module("openvino"):
        return False
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def auto_backend(device: str = "cpu", model_file: str | Path | None = None) -> str:
    """The backend ``"auto"`` picks: OpenVINO on the CPU when installed; onnxruntime for an ONNX file
    without OpenVINO; else torch."""
    if str(device).startswith("cpu") and has_module("openvino"):
        return "openvino"
    if model_file is not None and Path(model_file).suffix == ".onnx" and has_module("onnxruntime"):
        return "onnxruntime"
    return "torch"


def is_quantised(path: str | Path) -> bool:
    """Is a model file already INT8 (ONNX QuantizeLinear nodes / OpenVINO FakeQuantize ops)?"""
    path = Path(path)
    if path.suffix == ".xml":
        return 'type="FakeQuantize"' in path.read_text(errors="ignore")
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in graph.node)


def _family(name: str | None, model_file: str | Path | None) -> str | None:
    """The model family of a registered ``name`` or of a featherpose export (None when unknown)."""
    try:
        if name is not None:
            return get_spec(str(name)).family
        if model_file is not None:
            from .files import read_info

            info = read_info(model_file)
            return get_spec(info.model).family if info is not None else None
    except Exception:  # noqa: BLE001  (an unknown name, an external file: no family)
        return None
    return None


def auto_precision(backend: str, model_file: str | Path | None = None, name: str | None = None) -> str:
    """The precision ``"auto"`` picks for ``backend``: bf16 for a float network on OpenVINO on a CPU
    with native bf16, except for :data:`BF16_SLOWER_FAMILIES` (``name``: a registered model, else the
    export's own model), else fp32. Measured on the trained OMZ OpenPose network made float
    (docs/deployment.md): bf16 runs it 2.0x faster than fp32 for -0.6 / -1.0 AP on coco-mini
    val / train, within the +-1 AP resolution of those 154 persons; on an INT8 file the bf16 hint
    gains nothing (the int8 kernels dominate) and cost 1.3 / 0.4 AP, so INT8 files run with fp32."""
    if backend != "openvino" or not native_bf16():
        return "fp32"
    if model_file is not None and is_quantised(model_file):
        return "fp32"
    if _family(name, model_file) in BF16_SLOWER_FAMILIES:
        return "fp32"
    return "bf16"


def resolve(
    backend: str, precision: str, device: str = "cpu", model_file: str | Path | None = None, name: str | None = None
) -> tuple[str, str]:
    """``("auto" | name, "auto" | precision)`` -> a concrete (backend, precision), checked (``name``:
    the registered model, for :func:`auto_precision`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if backend == "auto":
        backend = auto_backend(device, model_file)
    if backend not in RUNNERS or backend == "auto":
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(RUNNERS)}")
    if precision == "auto":
        precision = auto_precision(backend, model_file, name)
    if precision == "bf16" and backend != "openvino":
        raise ValueError(f"precision bf16 needs the openvino backend (got {backend})")
    if precision == "int8" and backend == "torch":
        raise ValueError("int8 runs from a quantised file (featherpose export --int8) on onnxruntime or openvino")
    for name in ("onnxruntime", "openvino"):
        if backend == name and not has_module(name):
            raise BackendUnavailable(f"backend {name} is not installed (pip install {name}, "
                                     f"or pip install 'featherpose[deploy]')")  # fmt: skip
    return backend, precision


# -- runners ---------------------------------------------------------------------------------------
class OnnxRuntimeRunner:
    """Run an ONNX file with onnxruntime's CPU provider: ``runner(batch) -> [outputs]`` (file order)."""

    def __init__(self, path: str | Path, threads: int | None = None, precision: str = "fp32") -> None:
        import onnxruntime as ort

        if precision not in ("fp32", "int8"):
            raise ValueError(f"onnxruntime runs fp32 or int8 (quantised) files, not {precision!r}")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads, opts.inter_op_num_threads = int(threads), 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.precision = precision

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        outs = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32)})
        return [np.asarray(o, np.float32) for o in outs]


class OpenVINORunner:
    """Run an OpenVINO IR (``.xml``) or ONNX file on the CPU plug-in at ``precision``.

    ``dynamic=True`` compiles once with free batch / height / width (no re-compile per image size), and
    gives a shape that keeps coming back (:data:`STATIC_AFTER` calls) its own static executable, which
    runs faster; ``False``, or a graph that cannot be made dynamic, compiles once per input shape (a
    few kept)."""

    def __init__(
        self, path: str | Path, threads: int | None = None, precision: str = "fp32", dynamic: bool = True
    ) -> None:
        import openvino as ov

        if precision not in ("fp32", "bf16", "int8"):
            raise ValueError(f"openvino precision must be fp32, bf16 or int8, got {precision!r}")
        self.core = ov.Core()
        self.model = self.core.read_model(str(path))
        self.output_names = [o.get_any_name() for o in self.model.outputs]
        hint = "bf16" if precision == "bf16" else "f32"
        self.config: dict[str, object] = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = int(threads)
        self.precision, self.dynamic = precision, dynamic
        self._dynamic: object | None = None
        self._compiled: OrderedDict[tuple[int, ...], object] = OrderedDict()  # static, per shape (LRU)
        self._seen: dict[tuple[int, ...], int] = {}
        self.static_compiles = 0

    def _static(self, key: tuple[int, ...]) -> object:
        model = self.model.clone()
        model.reshape({model.inputs[0]: list(key)})
        self._compiled[key] = self.core.compile_model(model, "CPU", self.config)
        self.static_compiles += 1
        while len(self._compiled) > _CACHE_SHAPES:
            self._compiled.popitem(last=False)
        return self._compiled[key]

    def compiled(self, shape: Sequence[int]) -> object:
        """The executable for input ``shape`` (compiled on first use; see the class docstring)."""
        key = tuple(int(s) for s in shape)
        if key in self._compiled:
            self._compiled.move_to_end(key)
            return self._compiled[key]
        if self.dynamic and self._dynamic is None:
            try:
                model = self.model.clone()
                model.reshape({model.inputs[0]: [-1, 3, -1, -1]})
                self._dynamic = self.core.compile_model(model, "CPU", self.config)
            except RuntimeError:  # a graph with hard-coded shapes: one compile per shape
                self.dynamic = False
        if not self.dynamic:
            return self._static(key)
        if len(self._seen) > 256:  # many sizes: forget the counts, keep what is compiled
            self._seen.clear()
        self._seen[key] = self._seen.get(key, 0) + 1
        if self._seen[key] >= STATIC_AFTER and self.static_compiles < MAX_STATIC_COMPILES:
            try:
                return self._static(key)
            except RuntimeError:  # the dynamic executable still runs it
                self.static_compiles = MAX_STATIC_COMPILES
        return self._dynamic

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        compiled = self.compiled(batch.shape)
        result = compiled(np.ascontiguousarray(batch, np.float32))  # type: ignore[operator]
        return [np.asarray(result[o], np.float32) for o in compiled.outputs]  # type: ignore[attr-defined]


def file_runner(
    path: str | Path, backend: str, precision: str = "fp32", threads: int | None = None, dynamic: bool = True
) -> Runner:
    """A runner for an exported / external model file on a concrete backend (``dynamic``: OpenVINO
    compiles once for every input shape, else once per shape). A file the runtime cannot read
    fails with one line naming it."""
    if backend == "onnxruntime":
        if Path(path).suffix != ".onnx":
            raise ValueError(f"onnxruntime runs .onnx files, not {Path(path).name} (use the openvino backend)")
        make: type = OnnxRuntimeRunner
        args: tuple = (path, threads, precision)
    elif backend == "openvino":
        make, args = OpenVINORunner, (path, threads, precision, dynamic)
    else:
        raise ValueError(f"a model file runs on onnxruntime or openvino, not {backend!r}")
    try:
        return make(*args)
    except ValueError:  # the runners' own precision checks, already one line
        raise
    except Exception as exc:  # noqa: BLE001  (protobuf / runtime errors of many types)
        raise ValueError(f"model file {path}: {backend} cannot load it ({one_line(exc)})") from exc


# -- registered torch models: convert once, cache on disk ---------------------------------------
def cache_dir() -> Path:
    """Where converted models are kept (``$FEATHERPOSE_CACHE`` or ``~/.cache/featherpose``)."""
    return Path(os.environ.get("FEATHERPOSE_CACHE") or Path.home() / ".cache" / "featherpose")


def weights_key(model: nn.Module, input_size: Sequence[int] | None) -> str:
    """A hash of the model's class, parameters, buffers and the input size (the cache key)."""
    h = hashlib.sha1(type(model).__qualname__.encode())
    h.update(repr(tuple(input_size or ())).encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _cache_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", Path(str(name)).name) or "model"


def openvino_direct(model: nn.Module, input_size: Sequence[int], out_xml: str | Path) -> Path:
    """Convert a torch model to an OpenVINO IR with ``openvino.convert_model`` (traced at
    ``input_size``, no ONNX in between; batch, height and width left free), fp32 weights."""
    import openvino as ov

    model.eval()
    flat = FlatOutputs(model).eval()  # a fresh wrapper would trace in training mode (BN batch statistics)
    x = torch.zeros(1, 3, *(int(v) for v in input_size))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about data-dependent shapes
        ov_model = ov.convert_model(flat, example_input=x)
    ov_model.inputs[0].get_tensor().set_names({"input"})
    for i, output in enumerate(ov_model.outputs):
        output.get_tensor().set_names({f"output_{i}"})
    out_xml = Path(out_xml)
    ov.save_model(ov_model, str(out_xml), compress_to_fp16=False)
    return out_xml


def _trace_size(name: str, input_size: Sequence[int] | None) -> tuple[int, int]:
    size = tuple(input_size) if input_size else tuple(get_spec(name).input_size)
    return scaled_size(size, 1.0, 32)


def converted(model: nn.Module, fmt: str, input_size: Sequence[int] | None, name: str) -> Path:
    """Registered model ``name`` (built as ``model``) as an ONNX (``fmt="onnx"``) or OpenVINO
    (``"openvino"``) file in the cache. OpenVINO goes through ONNX when ``onnx`` is installed, else
    straight from torch (:func:`openvino_direct`). Raises :class:`BackendUnavailable` (one line)
    when the conversion cannot be done here."""
    backend = "openvino" if fmt == "openvino" else "onnxruntime"
    via_onnx = fmt == "onnx" or has_module("onnx")
    if fmt == "onnx" and not has_module("onnx"):
        raise BackendUnavailable(f"backend {backend} runs {name} from an ONNX export, which needs the onnx "
                                 f"package (pip install onnx), or use backend openvino / torch")  # fmt: skip
    folder = cache_dir() / "converted"
    target = folder / f"{_cache_name(name)}-{weights_key(model, input_size)}.{'xml' if fmt == 'openvino' else 'onnx'}"
    if target.exists() and (fmt == "onnx" or target.with_suffix(".bin").exists()):
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:  # write aside, then move: safe with parallel users
            if via_onnx:
                onnx_path = export_onnx(name, Path(tmp) / "model.onnx", input_size=input_size, model=model)
                if fmt == "onnx":
                    os.replace(onnx_path, target)
                    return target
                xml = onnx_to_openvino(onnx_path, Path(tmp) / "model.xml")
            else:
                xml = openvino_direct(model, _trace_size(name, input_size), Path(tmp) / "model.xml")
            os.replace(xml.with_suffix(".bin"), target.with_suffix(".bin"))
            os.replace(xml, target)
    except BackendUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001  (exporter / converter errors of many types)
        hint = "" if via_onnx else "; pip install onnx to convert it through ONNX"
        raise BackendUnavailable(f"backend {backend} could not convert {name} ({one_line(exc)}){hint}") from exc
    return target


def _torch_factory(backend: str):  # noqa: ANN202
    def factory(model: nn.Module, device: str = "cpu", input_size: Sequence[int] | None = None,
                precision: str = "fp32", threads: int | None = None, name: str | None = None,
                **_: object) -> Runner:  # fmt: skip
        if name is None:
            raise ValueError(f"the {backend} backend converts a registered model: pass its name (name=...)")
        if not str(device).startswith("cpu"):
            raise ValueError(f"the {backend} backend runs on the CPU, not {device!r}")
        _, precision = resolve(backend, precision, device, name=name)
        fmt = "openvino" if backend == "openvino" else "onnx"
        path = converted(model, fmt, input_size, name)
        try:
            return file_runner(path, backend, precision, threads)
        except ValueError as exc:  # a converted file the runtime cannot load
            raise BackendUnavailable(str(exc)) from exc

    return factory


def warn_once(message: str) -> None:
    """``warnings.warn(message)`` the first time this process sees ``message``."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def auto_factory(model: nn.Module, device: str = "cpu", precision: str = "auto", **options: object) -> Runner:
    """``backend="auto"``: :func:`auto_backend` with :func:`auto_precision`; torch, with one warning
    saying why, when the chosen backend cannot run the model here (:class:`BackendUnavailable`)."""
    name = options.get("name")
    backend, precision = resolve("auto", precision, device, name=name if isinstance(name, str) else None)
    if backend != "torch":
        try:
            return RUNNERS[backend](model, device=device, precision=precision, **options)
        except BackendUnavailable as exc:
            warn_once(f"backend auto: running on torch, because {exc}")
    return RUNNERS["torch"](model, device=device, **options)


register_runner("onnxruntime", _torch_factory("onnxruntime"))
register_runner("openvino", _torch_factory("openvino"))
register_runner("auto", auto_factory)
