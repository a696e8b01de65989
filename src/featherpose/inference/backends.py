"""The onnxruntime / OpenVINO backends; they live in :mod:`featherpose.deploy.backends` (importing
either module registers them). This module keeps the old import path; patch
``featherpose.deploy.backends`` itself in tests."""

from featherpose.deploy.backends import (  # noqa: F401 (re-export)
    PRECISIONS,
    OnnxRuntimeRunner,
    OpenVINORunner,
    auto_backend,
    auto_factory,
    auto_precision,
    cache_dir,
    converted,
    file_runner,
    is_quantised,
    native_bf16,
    openvino_direct,
    resolve,
    warn_once,
    weights_key,
)
from featherpose.deploy.util import BackendUnavailable, has_module, one_line  # noqa: F401 (re-export)
