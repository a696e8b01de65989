"""``precision="auto"``: bf16 on native-bf16 CPUs, except the families measured slower in bf16."""

from __future__ import annotations

import warnings

import pytest

from featherpose.deploy import backends


@pytest.fixture
def bf16_cpu(monkeypatch):
    """As on a CPU with native bf16 (the rule under test, whatever this machine has)."""
    pytest.importorskip("openvino")
    monkeypatch.setattr(backends, "native_bf16", lambda: True)


def test_auto_keeps_fp32_for_families_slower_in_bf16(bf16_cpu):
    assert "mobileposenet" in backends.BF16_SLOWER_FAMILIES
    assert backends.resolve("auto", "auto", name="mobileposenet") == ("openvino", "fp32")
    assert backends.resolve("auto", "auto", name="mobileposenet_384") == ("openvino", "fp32")
    assert backends.resolve("auto", "auto", name="ghostpose") == ("openvino", "bf16")
    assert backends.resolve("auto", "auto") == ("openvino", "bf16")  # nothing known: the global rule
    assert backends.resolve("auto", "bf16", name="mobileposenet") == ("openvino", "bf16")  # asked for: kept


def test_auto_reads_the_family_of_an_export(bf16_cpu, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    from featherpose.deploy.export import export_model

    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpn = export_model("mobileposenet", tmp_path / "m.onnx", input_size=(64, 48))
        ghost = export_model("ghostpose", tmp_path / "g.onnx", input_size=(64, 64))
    assert backends.auto_precision("openvino", mpn) == "fp32"
    assert backends.auto_precision("openvino", ghost) == "bf16"
    assert backends.auto_precision("onnxruntime", ghost) == "fp32"


def test_estimator_runs_mobileposenet_in_fp32_under_auto(bf16_cpu, tmp_path, monkeypatch):
    from featherpose.inference import PoseEstimator

    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = PoseEstimator("mobileposenet", input_size=(64, 48))
    assert type(est.runner).__name__ == "OpenVINORunner" and est.runner.precision == "fp32"
