"""Static INT8 quantisation; it lives in :mod:`featherpose.deploy.quantize`. This module keeps the
old import path."""

from featherpose.deploy.quantize import (  # noqa: F401 (re-export)
    IMAGE_SUFFIXES,
    ImageBatches,
    calibration_images,
    export_inputs,
    quantize_onnx,
)
