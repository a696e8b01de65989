"""``featherpose export`` and ``featherpose bench`` from the command line."""

from __future__ import annotations

import json

import pytest

from featherpose.cli import main

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))


def test_export_onnx_and_openvino(tmp_path, capsys, monkeypatch):
    from featherpose import pretrained
    from featherpose.engine.checkpoint import read_meta
    from featherpose.export import read_info

    shipped = pretrained.shipped("mobileposenet")
    assert shipped is not None, "mobileposenet's shipped weights are missing"
    assert main(["export", "--model", "mobileposenet", "--input-size", "64x64", "--out", str(tmp_path / "m.onnx")]) == 0
    out = capsys.readouterr().out
    assert "m.onnx" in out and "random" not in out and "warning" not in out  # the shipped weights, by default
    info = read_info(tmp_path / "m.onnx")
    assert info.input_size == (64, 64) and info.meta.provenance == read_meta(shipped).provenance

    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "no-shipped-weights")  # a model without weights
    assert main(["export", "--model", "mobileposenet", "--input-size", "64", "--out", str(tmp_path / "l.xml")]) == 0
    out = capsys.readouterr().out
    assert "l.bin" in out and "random" in out
    info = read_info(tmp_path / "l.xml")
    assert info.model == "mobileposenet" and not info.dynamic_spatial and info.input_size == (64, 64)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "nope", "--out", "x.onnx"], "unknown model"),
        (["--model", "mobileposenet", "--out", "x.tflite"], ".onnx or .xml"),
        (["--model", "mobileposenet", "--format", "openvino", "--out", "x.onnx"], ".xml"),
        (["--model", "mobileposenet", "--int8", "--calib", "no/such/dir", "--out", "x.onnx"], "not found"),
    ],
)
def test_export_errors(argv, message, capsys):
    assert main(["export", *argv]) == 2
    assert message in capsys.readouterr().err


def test_export_int8_without_calibration_images(capsys, monkeypatch):
    """No --calib and no ../shared/data to default to: one line asking for --calib."""
    from featherpose.deploy import quantize

    monkeypatch.setattr(quantize, "default_calibration", lambda: None)
    assert main(["export", "--model", "mobileposenet", "--int8", "--out", "x.onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--calib" in err


def test_bench_json_and_plot(tmp_path, capsys):
    argv = ["bench", "--models", "mobileposenet", "--backends", "torch,onnxruntime", "--repeats", "1", "--threads", "1",
            "--batch", "2", "--json", "--plot", str(tmp_path / "b.png"), "--out", str(tmp_path / "b.json")]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    rows = result["rows"]
    assert [(r["model"], r["backend"]) for r in rows] == [("mobileposenet", "torch"), ("mobileposenet", "onnxruntime")]
    for r in rows:
        assert not r["error"]
        assert r["net_ms"] > 0 and r["pre_ms"] >= 0 and r["post_ms"] >= 0 and r["throughput"] > 0
        assert r["total_ms"] >= r["net_ms"]
        assert r["macs"] > 4e8 and r["floor_ms"] > 0  # mobileposenet: ~0.55 GMACs
    assert result["machine"]["gemm_gmacs_per_s"] > 0.5
    assert (tmp_path / "b.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "b.json").read_text())["rows"][0]["model"] == "mobileposenet"


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--models", "nope"], "unknown model"), (["--backends", "tensorrt"], "unknown backend"),
     (["--models", "mobileposenet", "nope"], "unknown model 'nope'")],
)  # fmt: skip
def test_bench_errors(argv, message, capsys):
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bench_bad_precision_is_an_argument_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--precisions", "fp32,fp8"])
    assert exc.value.code == 2
    assert "argument --precisions: 'fp8' is not one of fp32, bf16" in capsys.readouterr().err
