"""``backend="auto"`` with OpenVINO installed but not ``onnx``: OpenVINO converts the torch model
itself (same outputs as the ONNX conversion path), a conversion that fails falls back to torch with
one warning, and an explicit backend that cannot work says in one line what to install."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import featherpose.deploy.backends as backends
from featherpose.deploy.backends import BackendUnavailable, OpenVINORunner, converted, has_module
from featherpose.inference import PoseEstimator
from featherpose.inference.runner import TorchRunner

pytest.importorskip("openvino")

REPO = Path(__file__).resolve().parents[2]
NO_ONNX = "import sys; sys.modules['onnx'] = None; from featherpose.cli import main; sys.exit(main())"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Converted models go to a per-test cache; the once-per-process warnings start afresh."""
    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(backends, "_WARNED", set())


@pytest.fixture
def no_onnx(monkeypatch):
    """``import onnx`` fails and ``has_module("onnx")`` is False, as on a machine without it."""
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert not has_module("onnx")


def _quiet(name: str, **kwargs: object) -> PoseEstimator:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PoseEstimator(name, **kwargs)


def _max_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    assert [x.shape for x in a] == [y.shape for y in b]
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


def test_auto_converts_directly_without_onnx(no_onnx):
    """auto -> OpenVINO from the torch module, no warning; bottom-up runs at other sizes (dynamic H/W)
    and matches torch to fp32 rounding."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = PoseEstimator("litepose_xs", input_size=128, precision="fp32")
    assert isinstance(est.runner, OpenVINORunner)
    assert not [w for w in caught if "running on torch" in str(w.message)]
    rng = np.random.default_rng(0)
    for h, w in ((128, 128), (96, 160)):
        x = (rng.standard_normal((2, 3, h, w)) * 50).astype(np.float32)
        expected, got = TorchRunner(est.model)(x), est.runner(x)
        assert _max_diff(expected, got) <= 1e-4 * max(float(np.abs(e).max()) for e in expected)


@pytest.mark.skipif(not has_module("onnx"), reason="the ONNX conversion path needs onnx")
@pytest.mark.parametrize("name", ["litepose_xs", "mobileposenet"])
def test_direct_conversion_matches_onnx_path(name, tmp_path, monkeypatch):
    """The torch -> OpenVINO IR and torch -> ONNX -> OpenVINO IR files give the same outputs (fp32
    hint), at the traced size and, bottom-up, at another one. Measured max abs diff over all 15 models
    (docs/deployment.md): 0 on 12, at most 3e-8 on outputs of range 0.12 (ghostpose)."""
    model = _quiet(name, backend="torch").model
    size = (128, 128) if name == "litepose_xs" else (64, 64)
    via_onnx = OpenVINORunner(converted(model, "openvino", size, name), threads=1)
    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "direct"))
    monkeypatch.setitem(sys.modules, "onnx", None)
    direct = OpenVINORunner(converted(model, "openvino", size, name), threads=1)
    rng = np.random.default_rng(1)
    for h, w in [size] + ([(96, 160)] if name == "litepose_xs" else []):
        x = (rng.standard_normal((2, 3, h, w)) * 50).astype(np.float32)
        a, b = via_onnx(x), direct(x)
        scale = max(float(np.abs(o).max()) for o in a)
        assert _max_diff(a, b) <= 1e-5 * scale, (h, w, _max_diff(a, b), scale)


def test_explicit_onnxruntime_without_onnx_names_the_package(no_onnx):
    pytest.importorskip("onnxruntime")
    with pytest.raises(ValueError, match="pip install onnx") as info:
        _quiet("mobileposenet", backend="onnxruntime", input_size=64)
    assert "\n" not in str(info.value)


def test_failed_conversion_falls_back_to_torch_with_one_warning(no_onnx, monkeypatch):
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("Cannot convert aten::weird_op\nlong converter log\nmore")

    monkeypatch.setattr(backends, "openvino_direct", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = PoseEstimator("mobileposenet", input_size=64)
        second = PoseEstimator("mobileposenet", input_size=64)
    assert type(first.runner).__name__ == type(second.runner).__name__ == "TorchRunner"
    fallback = [str(w.message) for w in caught if "running on torch" in str(w.message)]
    assert len(fallback) == 1 and "\n" not in fallback[0], fallback  # said once, in one line
    assert "weird_op" in fallback[0] and "pip install onnx" in fallback[0]
    with pytest.raises(BackendUnavailable, match="pip install onnx") as info:  # asked for: an error
        _quiet("mobileposenet", backend="openvino", input_size=64)
    assert "\n" not in str(info.value)


def test_model_file_without_onnx_package_is_one_line(no_onnx, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x07" * 64)
    with pytest.raises(ValueError, match=r"m\.onnx: .*pip install onnx"):
        PoseEstimator(str(path))


@pytest.mark.slow
def test_cli_infer_without_onnx(tmp_path, coco_mini):
    """``featherpose infer --model mobileposenet --precision fp32 IMAGE --no-render`` in a process where onnx
    cannot be imported: it works (OpenVINO converts the model itself), or at worst says why in one line.
    (``fp32``: with ``auto`` the shipped model runs from its shipped INT8 IR, with nothing to convert.)"""
    image = coco_mini / "val2017" / "000000000139.jpg"
    if not image.exists():
        pytest.skip(f"{image} is absent")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FEATHERPOSE_CACHE": str(tmp_path / "cache")}
    res = subprocess.run([sys.executable, "-c", NO_ONNX, "infer", "--model", "mobileposenet", "--precision", "fp32",
                          str(image),
                          "--no-render", "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=600)  # fmt: skip
    assert "Traceback" not in res.stderr, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if "error" in ln.lower()]
    assert res.returncode == 0 or (res.returncode == 2 and len(errors) == 1), res.stderr
    if res.returncode == 0:
        assert (tmp_path / "out" / "predictions.json").exists()
        assert list((tmp_path / "cache" / "converted").glob("mobileposenet-*.xml"))  # ran on OpenVINO
