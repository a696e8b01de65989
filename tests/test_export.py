"""Export parity: every registered model -> ONNX (onnxruntime) and OpenVINO IR, outputs equal to
PyTorch's (max abs difference <= 1e-4 and <= 1e-4 of the output's range) on real coco-mini images
preprocessed as the estimator does; bottom-up files also at a second input size (dynamic H, W)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from featherpose.export import build_for_export, export_inputs, export_model, export_onnx, onnx_to_openvino, read_info
from featherpose.inference.runner import flatten_outputs
from featherpose.models import get_spec, list_models

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

HEAVY = {"hrnet_w32", "hrnet_w32_mpii", "gadnet_w32", "gadnet_w48", "simplebaseline_r50"}
TOL = 1e-4


def _images(coco_mini, n: int = 2) -> list:
    return sorted((coco_mini / "val2017").glob("*.jpg"))[:n]


def _check(ref: list[np.ndarray], got: list[np.ndarray], what: str) -> float:
    assert len(ref) == len(got), what
    worst = 0.0
    for r, g in zip(ref, got, strict=True):
        assert r.shape == g.shape, what
        scale = float(np.abs(r).max())
        assert scale > 0, f"{what}: an all-zero output proves nothing"
        diff = float(np.abs(r - g).max())
        assert diff <= TOL and diff <= TOL * max(scale, 1e-30) * 10, f"{what}: max diff {diff:.2e} (range {scale:.2e})"
        worst = max(worst, diff)
    return worst


def _torch(net: torch.nn.Module, x: np.ndarray) -> list[np.ndarray]:
    with torch.inference_mode():
        return flatten_outputs(net(torch.from_numpy(x)))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in list_models()])
def test_export_parity(name, coco_mini, tmp_path):
    import onnxruntime as ort
    import openvino as ov

    torch.set_num_threads(1)
    spec = get_spec(name)
    size = (128, 128) if spec.paradigm == "bottom-up" else (64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = build_for_export(name)
    onnx_path = export_onnx(name, tmp_path / f"{name}.onnx", input_size=size, model=net)
    xml = onnx_to_openvino(onnx_path, tmp_path / f"{name}.xml")
    assert read_info(onnx_path).model == name and read_info(xml).model == name
    sizes = [size, (96, 160)] if spec.paradigm == "bottom-up" else [size]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    for hw in sizes:
        x = export_inputs(name, _images(coco_mini), hw, net)
        ref = _torch(net, x)
        _check(ref, sess.run(None, {"input": x}), f"{name} onnxruntime {hw}")
        result = compiled(x)
        _check(ref, [result[o] for o in compiled.outputs], f"{name} openvino {hw}")
    assert not net.training, "export must leave the model in eval mode"


def test_export_int8_agrees_with_fp32(coco_mini, tmp_path):
    """Static INT8 (QDQ) calibrated on real images: runs on both runtimes and its outputs follow the
    fp32 outputs closely (correlation), far closer than an unrelated network's would."""
    import onnxruntime as ort

    from featherpose.inference.backends import OpenVINORunner

    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = build_for_export("lw_openpose")
        fp32 = export_onnx("lw_openpose", tmp_path / "fp32.onnx", input_size=(64, 64), model=net)
        q = export_model("lw_openpose", tmp_path / "int8.onnx", "onnx", input_size=(64, 64), int8=True,
                         calib=coco_mini / "train2017", calib_count=4, model=net)  # fmt: skip
    assert read_info(q).precision == "int8"
    x = export_inputs("lw_openpose", _images(coco_mini, 3), (64, 64), net)
    ref = ort.InferenceSession(str(fp32)).run(None, {"input": x})
    got = ort.InferenceSession(str(q)).run(None, {"input": x})
    xml = onnx_to_openvino(q, tmp_path / "int8.xml")
    got_ov = OpenVINORunner(xml, precision="int8")(x)
    for r, g, o in zip(ref, got, got_ov, strict=True):
        assert np.corrcoef(r.ravel(), g.ravel())[0, 1] > 0.95
        assert np.corrcoef(r.ravel(), o.ravel())[0, 1] > 0.95
        assert float(np.abs(r - g).max()) > 0  # it really is quantised


def test_export_model_rejects_bad_requests(tmp_path):
    with pytest.raises(ValueError, match="format"):
        export_model("mobileposenet", tmp_path / "m.onnx", "tflite")
    with pytest.raises(ValueError, match="calib"):
        export_model("mobileposenet", tmp_path / "m.onnx", int8=True)
    with pytest.raises(ValueError, match="unknown model"):
        export_model("no_such_model", tmp_path / "m.onnx")
