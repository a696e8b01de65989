"""Deployment: running a network outside PyTorch and writing it to files.

* :mod:`~featherpose.deploy.runners`: the :class:`Runner` hook and the backend registry (``RUNNERS``);
* :mod:`~featherpose.deploy.backends`: onnxruntime / OpenVINO runners, the ``"auto"`` backend, the
  cache of converted models (registered in ``RUNNERS`` when this package is imported);
* :mod:`~featherpose.deploy.export`: ONNX / OpenVINO export (``featherpose export``);
* :mod:`~featherpose.deploy.quantize`: static INT8 calibrated on real images;
* :mod:`~featherpose.deploy.files`: what an exported file holds (:class:`ExportInfo`,
  :func:`read_info`) and :func:`check_model_file`.

Imports run one way: ``featherpose.inference`` uses this package; it never imports
``featherpose.inference`` (``tests/test_imports.py`` checks).
"""

from . import backends  # noqa: F401  (registers the onnxruntime / openvino / auto backends)
from .export import export_model, export_onnx, onnx_to_openvino
from .files import ExportInfo, check_model_file, is_model_file, read_info
from .quantize import export_inputs, quantize_onnx
from .runners import RUNNERS, Runner, TorchRunner, make_runner, register_runner

__all__ = [
    "RUNNERS",
    "ExportInfo",
    "Runner",
    "TorchRunner",
    "check_model_file",
    "export_inputs",
    "export_model",
    "export_onnx",
    "is_model_file",
    "make_runner",
    "onnx_to_openvino",
    "quantize_onnx",
    "read_info",
    "register_runner",
]
