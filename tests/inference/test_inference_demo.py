"""``demo_image``: the shipped default pipeline on the bundled real photo (no ../shared needed), any
other model or image on request, and one-line errors when a file it needs is missing."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest

import featherpose.inference.demo as demo
from featherpose import pretrained
from featherpose.inference import demo_image
from featherpose.skeletons import COCO17


@pytest.fixture
def shipped():
    for name in (pretrained.DEFAULT_MODEL, pretrained.DEFAULT_DETECTOR):
        if not pretrained.has_weights(name):
            pytest.fail(f"the shipped weights of {name} are missing from {pretrained.WEIGHTS_DIR}")


def test_default_demo_draws_the_skateboarder(tmp_path, capsys, shipped):
    path = demo_image(tmp_path)
    out = capsys.readouterr().out
    assert str(demo.DEMO_PHOTO) in out and demo.PHOTO_CREDIT in out and "CC BY-SA 2.0" in out
    assert f"model: {pretrained.DEFAULT_MODEL}, shipped weights featherpose/weights/" in out
    assert f"person boxes: {pretrained.DEFAULT_DETECTOR}, shipped weights" in out
    assert "trained: configs/" in out and "LSPET" in out  # the files' provenance
    assert "random" not in out
    assert path == tmp_path / "demo_pose.jpg"
    assert cv2.imread(str(path)).shape == cv2.imread(str(demo.DEMO_PHOTO)).shape == (426, 640, 3)
    assert (tmp_path / "demo_pose_heatmaps.jpg").is_file()

    results = json.loads((tmp_path / "demo_pose.json").read_text())
    assert results
    for r in results:  # COCO keypoint results, plus names and scores per person
        assert r["image_id"] == demo.DEMO_IMAGE_ID and r["category_id"] == 1
        assert len(r["keypoints"]) == 17 * 3 and len(r["bbox"]) == 4 and 0 <= r["score"] <= 1
        assert r["keypoint_names"] == list(COCO17.keypoints)
        assert r["keypoint_scores"] == pytest.approx(r["keypoints"][2::3], abs=1e-3)
        assert r["num_keypoints_found"] == sum(s >= demo.KPT_THR for s in r["keypoint_scores"])
    best = max(results, key=lambda r: r["num_keypoints_found"])
    assert best["num_keypoints_found"] >= 10
    x, y = best["keypoints"][0::3], best["keypoints"][1::3]
    assert 270 < min(x) and max(x) < 480 and 0 <= min(y) and max(y) < 200  # the skateboarder, in the air

    persons = [r for r in results if r["num_keypoints_found"]]
    assert f"persons: {len(persons)} (" in out
    for i, r in enumerate(persons, 1):
        assert f"person {i}: {r['num_keypoints_found']}/17 keypoints with score >= 0.3" in out


def test_another_model_and_image(tmp_path, capsys, ae_model):
    image = tmp_path / "mine.jpg"
    shutil.copy(demo.DEMO_PHOTO, image)
    path = demo_image(tmp_path / "out", model=ae_model, image=image, input_size=128)
    out = capsys.readouterr().out
    assert "credit: your image" in out and f"{ae_model} with random weights" in out
    assert path.is_file() and (tmp_path / "out" / "demo_pose_tags.jpg").is_file()
    results = json.loads((tmp_path / "out" / "demo_pose.json").read_text())
    assert isinstance(results, list) and all(r["image_id"] == 0 for r in results)


def test_missing_files_fail_with_one_line(tmp_path, monkeypatch):
    with pytest.raises(demo.DemoUnavailable, match="nope.jpg is missing"):
        demo_image(tmp_path, image=tmp_path / "nope.jpg")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "empty")
    with pytest.raises(demo.DemoUnavailable) as err:
        demo_image(tmp_path / "out")
    assert f"the shipped weights of {pretrained.DEFAULT_MODEL} are missing" in str(err.value)
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()
