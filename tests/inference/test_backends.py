"""onnxruntime / OpenVINO backends, the "auto" choice, and model files (featherpose exports and
Intel's OMZ OpenPose IR) as estimator models."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from featherpose.inference import RUNNERS, PoseEstimator
from featherpose.inference.backends import OpenVINORunner, auto_backend, has_module, resolve
from featherpose.inference.external import ExternalContract, aspect_size, is_model_file

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

OMZ = "omz-human-pose-estimation-0001/human-pose-estimation-0001.xml"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Converted models go to a per-test cache (no state shared with the user's ~/.cache)."""
    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))


def test_resolve_picks_and_checks():
    assert {"torch", "onnxruntime", "openvino", "auto"} <= set(RUNNERS)
    assert auto_backend("cpu") == "openvino"
    assert auto_backend("cuda") == "torch"
    assert resolve("auto", "fp32") == ("openvino", "fp32")
    assert resolve("torch", "auto") == ("torch", "fp32")
    with pytest.raises(ValueError, match="bf16"):
        resolve("onnxruntime", "bf16")
    with pytest.raises(ValueError, match="int8"):
        resolve("torch", "int8")
    with pytest.raises(ValueError, match="precision"):
        resolve("openvino", "fp8")
    with pytest.raises(ValueError, match="unknown backend"):
        resolve("tensorrt", "fp32")


def test_auto_falls_back_to_torch_without_openvino(monkeypatch):
    import featherpose.deploy.backends as b

    monkeypatch.setattr(b, "has_module", lambda name: name not in ("openvino", "onnxruntime"))
    assert b.resolve("auto", "auto") == ("torch", "fp32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = PoseEstimator("litepose_xs", input_size=64)
    assert type(est.runner).__name__ == "TorchRunner"


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_backend_runner_matches_torch(backend, coco_mini):
    """The estimator's runner on each backend gives the torch network's outputs (fp32: <= 1e-4)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = PoseEstimator("litepose_xs", backend="torch", input_size=128)
        est = PoseEstimator("litepose_xs", backend=backend, precision="fp32", input_size=128)
    from featherpose.export import export_inputs

    x = export_inputs("litepose_xs", sorted((coco_mini / "val2017").glob("*.jpg"))[:2], (128, 128), ref.model)
    for a, b in zip(ref.runner(x), est.runner(x), strict=True):
        assert float(np.abs(a - b).max()) <= 1e-4
    image = str(sorted((coco_mini / "val2017").glob("*.jpg"))[0])
    p_ref, p_est = ref(image), est(image)
    assert len(p_ref) == len(p_est)
    for u, v in zip(p_ref, p_est, strict=True):
        np.testing.assert_allclose(u.keypoints[:, :2], v.keypoints[:, :2], atol=0.5)


def test_bf16_is_close_but_not_identical(coco_mini):
    from featherpose.inference.backends import native_bf16

    if not native_bf16():
        pytest.skip("this CPU has no native bf16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f32 = PoseEstimator("litepose_xs", backend="openvino", precision="fp32", input_size=64)
        b16 = PoseEstimator("litepose_xs", backend="openvino", precision="bf16", input_size=64)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    for a, b in zip(f32.runner(x), b16.runner(x), strict=True):
        rel = float(np.abs(a - b).max() / np.abs(a).max())
        assert 0 < rel < 0.1


def test_exported_file_runs_like_the_registered_model(coco_mini, tmp_path):
    from featherpose.export import export_onnx, onnx_to_openvino

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = PoseEstimator("litepose_xs", backend="torch", input_size=128)
    onnx_path = export_onnx("litepose_xs", tmp_path / "lp.onnx", input_size=128, model=ref.model)
    xml = onnx_to_openvino(onnx_path, tmp_path / "lp.xml")
    image = str(sorted((coco_mini / "val2017").glob("*.jpg"))[1])
    expected = ref(image)
    for path, backend in ((onnx_path, "onnxruntime"), (xml, "openvino")):
        est = PoseEstimator(str(path), backend=backend, precision="fp32", input_size=128)
        assert est.spec.name == "litepose_xs" and not est.width_follows_image
        got = est(image)
        assert len(got) == len(expected)
        for u, v in zip(expected, got, strict=True):
            np.testing.assert_allclose(u.keypoints[:, :2], v.keypoints[:, :2], atol=0.5)
    with pytest.raises(ValueError, match="weights"):
        PoseEstimator(str(onnx_path), weights="x.safetensors")


def test_model_file_errors(tmp_path):
    assert is_model_file("a/b.XML") and is_model_file("m.onnx") and not is_model_file("lw_openpose")
    with pytest.raises(ValueError, match="not found"):
        PoseEstimator(str(tmp_path / "missing.xml"))
    (tmp_path / "lonely.xml").write_text("<net/>")
    with pytest.raises(ValueError, match="bin"):
        PoseEstimator(str(tmp_path / "lonely.xml"))
    with pytest.raises(ValueError, match="unknown contract keys"):
        ExternalContract.parse({"colour": "BGR"})
    assert ExternalContract.parse('{"order": "rgb", "mean": [1, 2, 3]}').mean == (1.0, 2.0, 3.0)


def test_aspect_size():
    assert aspect_size(368, (480, 640), 8) == (368, 496)  # 490.7 -> 496
    assert aspect_size(256, (640, 427), 8) == (256, 176)


@pytest.fixture
def omz(peers):
    path = peers / OMZ
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


def test_omz_ir_runs_through_the_library_decoder(omz, coco_mini):
    """Intel's trained IR, fed by the estimator (height 256, width from the image) and decoded by
    featherpose's OpenPose decoder, finds the people of coco-mini val2017 (AP well above chance)."""
    from featherpose.evaluation import coco_keypoint_ap

    ann = coco_mini / "annotations" / "person_keypoints_val2017.json"
    data = json.loads(ann.read_text())
    with_people = {a["image_id"] for a in data["annotations"] if a["num_keypoints"] > 0}
    images = [im for im in data["images"] if im["id"] in with_people][:8]
    est = PoseEstimator(str(omz), backend="openvino", precision="fp32", input_size=256)
    assert est.width_follows_image and est.spec.keypoints == "openpose18"
    results = []
    for im in images:
        h, w = im["height"], im["width"]
        frame = type("F", (), {"pixels": np.zeros((h, w, 3), np.uint8)})()
        assert est._bottomup_size([frame]) == (256, int(math.ceil(round(w * 256 / h) / 8) * 8))
        results += [p.to_coco(im["id"]) for p in est(str(coco_mini / "val2017" / im["file_name"]))]
    gt = dict(data, images=images, annotations=[a for a in data["annotations"] if a["image_id"] in
                                                {im["id"] for im in images}])  # fmt: skip
    assert coco_keypoint_ap(gt, results)["AP"] > 0.2  # measured 0.25 (8 images, height 256)


def test_omz_ir_outputs_are_identified_by_channels(omz):
    runner = OpenVINORunner(omz, precision="fp32")
    assert sorted(o.split("_")[-1] for o in runner.output_names) == ["L1", "L2"]
    outs = runner(np.zeros((2, 3, 64, 96), np.float32))  # any batch, any size divisible by 8
    assert sorted(o.shape[1] for o in outs) == [19, 38] and all(o.shape[:1] == (2,) for o in outs)
    assert has_module("openvino")


def test_auto_precision_keeps_int8_files_in_fp32(omz):
    from featherpose.inference.backends import is_quantised, native_bf16

    assert is_quantised(omz)
    assert resolve("auto", "auto", model_file=omz) == ("openvino", "fp32")
    assert resolve("auto", "auto") == ("openvino", "bf16" if native_bf16() else "fp32")
