"""``demo_image``: the full pipeline on one image, real when ../shared is there, synthetic otherwise."""

from __future__ import annotations

import json

import cv2
import pytest

import featherpose.inference.demo as demo
from featherpose.inference import demo_image


@pytest.mark.parametrize("real", [True, False])
def test_demo_image_writes_a_rendered_result(tmp_path, monkeypatch, capsys, coco_mini, ae_model, real):
    if not real:
        monkeypatch.setattr(demo, "DEMO_DIR", tmp_path / "absent")
    path = demo_image(tmp_path / "out", model=ae_model, backend="torch", input_size=128)
    out = capsys.readouterr().out
    assert ("real image" in out) if real else ("synthetic" in out and "absent" in out)
    assert "random weights" in out
    assert path == tmp_path / "out" / "demo_pose.jpg"
    shape = cv2.imread(str(path)).shape
    assert shape == ((427, 640, 3) if real else (256, 256, 3))
    assert (tmp_path / "out" / "demo_pose_heatmaps.jpg").exists()
    assert isinstance(json.loads((tmp_path / "out" / "demo_pose.json").read_text()), list)


def test_demo_default_uses_the_trained_peer(tmp_path, capsys, coco_mini, peers):
    pytest.importorskip("openvino")
    path = demo_image(tmp_path)
    out = capsys.readouterr().out
    assert "trained Lightweight OpenPose" in out
    poses = json.loads((tmp_path / "demo_pose.json").read_text())
    assert poses and max(p["score"] for p in poses) > 0.3  # the person in the kitchen
    assert (tmp_path / "demo_pose_pafs.jpg").exists() and path.exists()
