"""Export to ONNX / OpenVINO; it lives in :mod:`featherpose.deploy.export` (file contents in
:mod:`featherpose.deploy.files`, calibration inputs in :mod:`featherpose.deploy.quantize`). This
module keeps the old import path."""

from featherpose.deploy.export import (  # noqa: F401 (re-export)
    FORMATS,
    OPSET,
    build_for_export,
    default_input_size,
    export_info,
    export_model,
    export_onnx,
    load_for_export,
    onnx_to_openvino,
    output_names,
)
from featherpose.deploy.files import ExportInfo, read_info, set_onnx_info  # noqa: F401 (re-export)
from featherpose.deploy.quantize import export_inputs  # noqa: F401 (re-export)
