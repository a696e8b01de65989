"""Corrupt, truncated and missing model files (ONNX, OpenVINO IR + BIN, safetensors weights) fail
with one line naming the file: ``ValueError`` through the Python API, exit status 2 and one stderr
line (no traceback) through ``featherpose infer``."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from featherpose.cli import main
from featherpose.engine.checkpoint import read_weights
from featherpose.inference import PoseEstimator
from featherpose.inference.external import check_model_file

pytest.importorskip("onnx")
pytest.importorskip("openvino")

REPO = Path(__file__).resolve().parents[2]
IMAGE = "val2017/000000000139.jpg"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    """A valid featherpose export of mobileposenet (64x64) as ONNX and as OpenVINO IR, and its weights."""
    import torch
    from safetensors.torch import save_file

    from featherpose.export import export_onnx, onnx_to_openvino
    from featherpose.models import build_model

    folder = tmp_path_factory.mktemp("good")
    torch.set_num_threads(1)
    net = build_model("mobileposenet").eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_path = export_onnx("mobileposenet", folder / "mpn.onnx", input_size=64, model=net)
    xml = onnx_to_openvino(onnx_path, folder / "mpn.xml")
    weights = folder / "mpn.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(weights))
    return {"onnx": onnx_path, "xml": xml, "bin": xml.with_suffix(".bin"), "safetensors": weights}


def make_bad(kind: str, good: dict[str, Path], folder: Path) -> tuple[Path, str]:
    """Write one bad model file -> (the path to pass, a phrase the error must hold)."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx_bytes, xml_bytes, bin_bytes = (good[k].read_bytes() for k in ("onnx", "xml", "bin"))
    garbage = bytes(range(256)) * 16
    if kind.endswith(".onnx"):
        data = {"garbage.onnx": garbage, "text.onnx": b"not a model\n" * 20, "empty.onnx": b"",
                "half.onnx": onnx_bytes[: len(onnx_bytes) // 2], "cut-end.onnx": onnx_bytes[:-16]}[kind]  # fmt: skip
        (folder / kind).write_bytes(data)
        return folder / kind, "empty file" if not data else "corrupt or truncated"
    xml, weights = folder / kind.removesuffix(".xml") / "model.xml", bin_bytes
    xml.parent.mkdir()
    if kind == "garbage.xml":
        xml_data, phrase = garbage, "corrupt or truncated XML"
    elif kind == "half.xml":
        xml_data, phrase = xml_bytes[: len(xml_bytes) // 2], "corrupt or truncated XML"
    elif kind == "html.xml":
        xml_data, phrase = b"<?xml version='1.0'?><html><body/></html>", "not an OpenVINO IR"
    else:  # the BIN beside a good XML: truncated, empty or missing
        xml_data = xml_bytes
        weights = {"half-bin.xml": bin_bytes[: len(bin_bytes) // 2], "empty-bin.xml": b"", "no-bin.xml": None}[kind]
        phrase = "missing" if weights is None else "truncated"
    xml.write_bytes(xml_data)
    if weights is not None:
        xml.with_suffix(".bin").write_bytes(weights)
    return xml, phrase


KINDS = ["garbage.onnx", "text.onnx", "empty.onnx", "half.onnx", "cut-end.onnx",
         "garbage.xml", "half.xml", "html.xml", "half-bin.xml", "empty-bin.xml", "no-bin.xml"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_bad_model_file_is_one_line_naming_it(kind, good, tmp_path):
    path, phrase = make_bad(kind, good, tmp_path / "bad")
    with pytest.raises(ValueError) as info:
        PoseEstimator(str(path))
    message = str(info.value)
    assert message.startswith(f"model file {path}: ") and phrase in message, message
    assert "\n" not in message


def test_good_files_pass_the_check(good):
    for key in ("onnx", "xml"):
        assert check_model_file(good[key]) == good[key]
    est = PoseEstimator(str(good["xml"]), backend="openvino", precision="fp32")
    assert est.spec.name == "mobileposenet"


@pytest.mark.parametrize("kind", ["garbage.onnx", "half.onnx", "half.xml", "half-bin.xml", "no-bin.xml"])
def test_cli_bad_model_file(kind, good, tmp_path, coco_mini, capsys):
    """The CLI entry point (in-process for speed): exit 2, one error line naming the file."""
    path, phrase = make_bad(kind, good, tmp_path / "bad")
    rc = main(["infer", "--model", str(path), str(coco_mini / IMAGE), "--no-render", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2
    assert len(lines) == 1 and lines[0].startswith(f"featherpose infer: error: model file {path}: "), err
    assert phrase in err


def test_cli_bad_onnx_in_a_process(good, tmp_path, coco_mini):
    """Through the console script: a corrupt .onnx -> exit 2, one stderr line, no traceback."""
    path, _ = make_bad("garbage.onnx", good, tmp_path / "bad")
    exe = REPO / ".venv" / "bin" / "featherpose"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "featherpose.cli"]
    res = subprocess.run([*cmd, "infer", "--model", str(path), str(coco_mini / IMAGE), "--no-render",
                          "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
                         timeout=300)  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"featherpose infer: error: model file {path}: "), res.stderr


@pytest.mark.parametrize("cut", ["garbage", "half", "header", "empty"])
def test_bad_weights_file_is_one_line(cut, good, tmp_path, coco_mini, capsys):
    """Corrupt / truncated safetensors passed as weights: one line naming the file (Python API and CLI)."""
    data = good["safetensors"].read_bytes()
    bad = tmp_path / f"{cut}.safetensors"
    bad.write_bytes({"garbage": bytes(range(256)) * 8, "half": data[: len(data) // 2], "header": data[:100],
                     "empty": b""}[cut])  # fmt: skip
    with pytest.raises(ValueError) as info:
        read_weights(bad)
    assert str(info.value).startswith(f"checkpoint {bad}: ") and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="checkpoint"):
        PoseEstimator("mobileposenet", weights=str(bad), backend="torch")
    rc = main(["infer", "--model", "mobileposenet", "--weights", str(bad), "--backend", "torch",
               str(coco_mini / IMAGE), "--no-render", "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and str(bad) in lines[0] and lines[0].startswith("featherpose infer: error:"), err


def test_quantize_bad_input_is_one_line(good, tmp_path, monkeypatch):
    from featherpose.quantize import quantize_onnx

    path, _ = make_bad("half.onnx", good, tmp_path / "bad")
    with pytest.raises(ValueError, match=f"model file {path}: .*truncated"):
        quantize_onnx(path, tmp_path / "int8.onnx", [])
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ValueError, match="pip install onnx"):
        quantize_onnx(good["onnx"], tmp_path / "int8.onnx", [])
