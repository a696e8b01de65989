"""``featherpose infer`` end to end: good and bad images, folders and videos, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import featherpose.models as zoo
from featherpose.cli import main
from featherpose.commands.infer import assign_image_ids

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
COCO = "val2017/000000000139.jpg"
FAST = ["infer", "--backend", "torch", "--input-size", "64"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(*names: str) -> str:
    for n in names:
        if n in zoo.list_models():
            return n
    pytest.skip(f"none of {names} is registered yet")


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run the installed console script (falls back to ``python -m featherpose.cli``)."""
    exe = REPO / ".venv" / "bin" / "featherpose"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "featherpose.cli"]
    return subprocess.run([*cmd, "infer", "--backend", "torch", *args], capture_output=True, text=True, env=ENV,
                          timeout=300)  # fmt: skip


def _huge_png(path: Path) -> Path:
    ok, buf = cv2.imencode(".png", np.full((16, 16, 3), 127, np.uint8))
    data = bytearray(buf.tobytes())
    struct.pack_into(">II", data, 16, 20000, 20000)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def bad_inputs(folder: Path, coco_mini: Path) -> dict[str, str]:
    """Write one file per kind of bad input -> {file name: expected reason}."""
    folder.mkdir(parents=True, exist_ok=True)
    data = (coco_mini / COCO).read_bytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not an image\n" * 20)
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "corrupt.jpg").write_bytes(data[:600] + bytes(range(256)) * 20)
    cv2.imwrite(str(folder / "dot.png"), np.zeros((1, 1, 3), np.uint8))
    _huge_png(folder / "huge.png")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    return {
        "empty.jpg": "empty file",
        "notes.png": "not an image",
        "truncated.jpg": "truncated or corrupt",
        "corrupt.jpg": "corrupt",
        "dot.png": "only 1x1 pixels",
        "huge.png": "above the 40.0 MP limit",
        "broken.mp4": "video",
    }


def good_video(coco_mini: Path, path: Path, frames: int = 4) -> Path:
    image = cv2.imread(str(coco_mini / COCO))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (96, 64))
    for i in range(frames):
        writer.write(cv2.resize(image[:, 8 * i : 8 * i + 600], (96, 64), interpolation=cv2.INTER_AREA))
    writer.release()
    return path


def test_single_bad_input_is_one_line_and_exit_2(tmp_path, coco_mini):
    """Through the console script: one bad input -> one stderr line naming it, exit status 2."""
    reasons = bad_inputs(tmp_path / "in", coco_mini)
    res = cli("--model", "litepose_xs", "--out", str(tmp_path / "out"), str(tmp_path / "in" / "truncated.jpg"))
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if "error" in ln]
    assert lines == [f"featherpose infer: error: {tmp_path / 'in' / 'truncated.jpg'}: " + lines[0].split(": ", 3)[-1]]
    assert reasons["truncated.jpg"] in lines[0]
    assert not (tmp_path / "out" / "predictions.json").exists()


@pytest.mark.parametrize(
    "name",
    ["empty.jpg", "notes.png", "truncated.jpg", "corrupt.jpg", "dot.png", "huge.png", "broken.mp4", "missing.jpg"],
)
def test_each_bad_input_alone(tmp_path, coco_mini, capsys, name):
    """The CLI entry point (in-process for speed) on every kind of bad input."""
    reasons = {**bad_inputs(tmp_path / "in", coco_mini), "missing.jpg": "file not found"}
    rc = main([*FAST, "--model", _model("litepose_xs"), "--out", str(tmp_path / "out"),
               str(tmp_path / "in" / name)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    line = next(ln for ln in err.splitlines() if ln.startswith("featherpose infer: error:"))
    assert name in line and reasons[name] in line


def test_all_bad_batch_exits_2_and_lists_everything(tmp_path, coco_mini, capsys):
    reasons = bad_inputs(tmp_path / "in", coco_mini)
    rc = main([*FAST, "--model", _model("litepose_xs"), "--out", str(tmp_path / "out"),
               str(tmp_path / "in"), str(tmp_path / "nowhere")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert f"skipped {len(reasons) + 1} inputs:" in err
    for name, reason in reasons.items():
        assert any(name in ln and reason in ln for ln in err.splitlines()), name
    assert "nowhere: file not found" in err


def test_batch_with_good_and_bad_items(tmp_path, coco_mini, crowdpose_fixtures):
    """Folder of good images, bad files, a good and a bad video: all good items are written,
    the bad ones listed, exit status 0."""
    model = _model("mobileposenet", "mobilenetv2_deconv", "hrnet_w32")
    folder = tmp_path / "in"
    reasons = bad_inputs(folder, coco_mini)
    for name in ("103319.jpg", "106848.jpg"):
        shutil.copy(crowdpose_fixtures / name, folder / name)
    shutil.copy(coco_mini / COCO, folder / "000000000139.jpg")
    bgr = cv2.imread(str(coco_mini / COCO))
    cv2.imwrite(str(folder / "deep.png"), bgr.astype(np.uint16) * 257)  # 16-bit: fine
    cv2.imwrite(str(folder / "alpha.png"), np.dstack([bgr, np.full(bgr.shape[:2], 9, np.uint8)]))  # RGBA: fine
    good_video(coco_mini, folder / "walk.avi")
    det = crowdpose_fixtures / "test_crowdpose_det_AP_40.json"
    n_det = {k: sum(1 for d in json.loads(det.read_text()) if d["image_id"] == k) for k in (103319, 106848)}
    out = tmp_path / "out"
    res = cli("--model", model, "--input-size", "64x48", "--boxes", str(det), "--nms", "none", "--out", str(out),
              "--track", "--smooth", "--save-maps", "--detector", _model("litepose_xs"), str(folder),
              str(tmp_path / "missing.jpg"))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"skipped {len(reasons) + 1} inputs:" in res.stderr
    for name, reason in reasons.items():
        assert any(name in ln and reason in ln for ln in res.stderr.splitlines()), (name, res.stderr)
    preds = json.loads((out / "predictions.json").read_text())
    for image_id, n in n_det.items():  # one pose per detection box, COCO results format
        mine = [p for p in preds if p["image_id"] == image_id]
        assert len(mine) == n and all(len(p["keypoints"]) == 51 and "score" in p for p in mine)
        assert mine[0]["file_name"].endswith(f"{image_id}.jpg")
    assert not [p for p in preds if p["file_name"].endswith("walk.avi")]  # --boxes lists no frame of it: nobody
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in records if r["source"].endswith("walk.avi")] == [0, 1, 2, 3]
    assert sum(len(r["poses"]) for r in records) == len(preds)
    for stem in ("103319", "106848", "000000000139", "deep", "alpha"):
        assert cv2.imread(str(out / f"{stem}.jpg")) is not None, stem
    assert (out / "maps" / "106848_heatmaps.jpg").exists()
    cap = cv2.VideoCapture(str(out / "walk.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    cap.release()


def test_json_output_and_bottom_up_model(tmp_path, coco_mini):
    res = cli("--model", _model("litepose_xs"), "--input-size", "64", "--json", "--flip", "--out", str(tmp_path),
              str(coco_mini / COCO))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == json.loads((tmp_path / "predictions.json").read_text())
    assert (tmp_path / "000000000139.jpg").exists()


def test_image_ids():
    ids = assign_image_ids([Path("a/000000000139.jpg"), Path("cat.png"), Path("b/000000000139.jpg"),
                            Path("COCO_val2014_000000000002.jpg"), Path("0.jpg")])  # fmt: skip
    assert ids[Path("a/000000000139.jpg")] == 139 and ids[Path("COCO_val2014_000000000002.jpg")] == 2
    assert ids[Path("0.jpg")] == 0
    assert len(set(ids.values())) == 5  # duplicates and plain names get free running ids
