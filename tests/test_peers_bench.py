"""benchmarks/yolo_pose.py (letterbox, decode + NMS, the real YOLO11n-pose on coco-mini) and the report
of benchmarks/peers.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, file: str):  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


yolo = _load("_benchmarks_yolo_pose", "yolo_pose.py")


def test_letterbox_centres_and_scales():
    image = np.full((200, 400, 3), 7, np.uint8)
    x, r, (left, top) = yolo.letterbox(image)
    assert x.shape == (1, 3, 640, 640) and x.dtype == np.float32
    assert r == pytest.approx(1.6) and (left, top) == (0.0, 160.0)
    assert x[0, :, 0, 0] == pytest.approx([114 / 255] * 3)  # the border
    assert x[0, :, 320, 320] == pytest.approx([7 / 255] * 3)  # the image


def test_decode_thresholds_and_suppresses():
    out = np.zeros((56, 6), np.float32)
    boxes = [(100, 100, 50, 100, 0.9), (102, 101, 50, 100, 0.8), (400, 300, 60, 120, 0.5), (50, 50, 10, 10, 0.0005)]
    for j, (cx, cy, w, h, s) in enumerate(boxes):
        out[:5, j] = cx, cy, w, h, s
        out[5::3, j], out[6::3, j], out[7::3, j] = cx, cy, 0.5 + j / 10
    b, s, k = yolo.decode(out, conf=0.001, iou=0.7)
    assert s.tolist() == pytest.approx([0.9, 0.5])  # the overlapping 0.8 suppressed, 0.0005 under conf
    assert b[0].tolist() == pytest.approx([75, 50, 50, 100]) and k.shape == (2, 17, 3)
    assert k[1, 0].tolist() == pytest.approx([400, 300, 0.7])
    assert len(yolo.decode(out, conf=0.95, iou=0.7)[1]) == 0


def test_yolo11n_pose_reproduces_its_quality_on_coco_mini(coco_mini, peers):
    """The real network through this decoder finds COCO's people: OKS AP well above chance on the
    first val2017 images (the full run measures ~0.47 on all 79)."""
    pytest.importorskip("onnxruntime")
    bench = _load("_benchmarks_pretrained", "pretrained.py")
    net = yolo.YoloPose(peers / "yolo11n-pose" / "yolo11n-pose.onnx", threads=1)
    gt = bench.load(coco_mini / "annotations" / "person_keypoints_val2017.json")
    with_people = {a["image_id"] for a in gt["annotations"] if a["num_keypoints"] > 0}
    gt["images"] = [im for im in gt["images"] if im["id"] in with_people][:8]
    ids = {im["id"] for im in gt["images"]}
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in ids]
    preds = {im["id"]: net(cv2.imread(str(coco_mini / "val2017" / im["file_name"]))) for im in gt["images"]}
    assert bench.keypoint_ap(gt, preds, bench.COCO17.keypoints)["AP"] > 0.35


def test_report_tables_and_doc_markers(tmp_path, monkeypatch):
    peers = _load("peers_bench", "peers.py")
    pipes = [
        {"name": "featherpose x fp32", "backend": "openvino", "precision": "fp32", "input_size": "8x8", "threads": 2},
        {"name": "featherpose x auto", "backend": "openvino", "precision": "int8", "input_size": "8x8", "threads": 2},
        {"name": "YOLO11n-pose", "backend": "onnxruntime", "precision": "fp32", "input_size": "640", "threads": 2},
    ]
    row = {"PCK": 0.5, "AP": 0.4, "ms_e2e": 40.0, "ms_net": 30.0, "ms_e2e_mean": 42.0, "profile_ms": {"net": 30.0}}
    results = {"lspet": {"featherpose x fp32": row, "featherpose x auto": {**row, "PCK": 0.45, "ms_e2e": 20.0,
                                                                            "ms_net": 10.0},
                         "YOLO11n-pose": {**row, "ms_e2e": 80.0}}}  # fmt: skip
    text = peers.table(pipes, results)
    assert "| featherpose x fp32 | 0.500 | 0.400 |" in text and "| 0.50 | openvino | fp32 | 8x8 | 2 |" in text
    assert "| featherpose x | -0.050 | +0.000 | - | - | 2.00x | 3.00x |" in peers.int8_table(results)
    assert "read + other 12.0" in peers.profile_table(pipes, results)
    doc = tmp_path / "b.md"
    doc.write_text(f"head\n{peers.BEGIN}\nold\n{peers.END}\ntail\n")
    monkeypatch.setattr(peers, "DOC", doc)
    assert peers.write_doc("new")
    assert doc.read_text() == f"head\n{peers.BEGIN}\nnew\n{peers.END}\ntail\n"
    peers.plot(pipes, results, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 5_000
    json.dumps(results)  # what the run writes is plain JSON


def test_goal_and_readme_tables_are_ratios_of_one_run():
    peers = _load("peers_bench", "peers.py")
    names = [name for _, name in peers.GOAL_ROWS]
    ms = dict(zip(names, (30.0, 20.0, 45.0, 50.0, 60.0), strict=True))
    results = {"lspet": {n: {"PCK": 0.5, "AP": 0.25, "ms_e2e": v} for n, v in ms.items()},
               "coco_val": {names[0]: {"AP": 0.02}}}  # fmt: skip
    goal = peers.goal_table(results).splitlines()
    assert goal[2].endswith("| 30.0 | 0.50 | 0.60 | 0.500 | 0.250 |")  # default auto: 30 / 60 and 30 / 50
    assert len(goal) == 2 + len(peers.GOAL_ROWS)
    readme = peers.readme_table(results)
    assert "| 0.500 | 0.250 | 0.020 | 30.0 | 0.50 |" in readme and "| 0.500 | 0.250 | - | 20.0 | 0.33 |" in readme
    assert "featherpose default" not in readme  # the README test reads `featherpose WORD` as a command
