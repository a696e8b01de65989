"""INT8 calibration sources (folder, glob, COCO annotation file) and ``featherpose export --int8`` of the
shipped weights, checked against fp32 on real held-out images."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from featherpose.deploy.quantize import CalibImage, calibration_images, default_calibration, export_inputs

REPO = Path(__file__).resolve().parents[2]
LSPET = REPO.parent / "shared" / "data" / "lspet"


def test_folder_and_glob_spread_over_the_images(coco_mini):
    folder = coco_mini / "train2017"
    every = sorted(p for p in folder.iterdir() if p.suffix == ".jpg")
    picked = calibration_images(folder, 8)
    assert [c.path for c in picked] == [every[int(i * len(every) / 8)] for i in range(8)]
    assert all(c.boxes is None for c in picked)
    assert [c.path for c in calibration_images(str(folder / "*.jpg"), 8)] == [c.path for c in picked]
    assert len(calibration_images([every[0], every[1]], 32)) == 2


@pytest.mark.parametrize(
    ("source", "message"),
    [("no/such/dir", "not found"), ("no/such/*.jpg", "no images match"), ([], "empty")],
)
def test_bad_sources_fail_in_one_line(source, message):
    with pytest.raises(ValueError, match=message) as err:
        calibration_images(source, 4)
    assert "\n" not in str(err.value)


def test_annotation_file_gives_person_crops(coco_mini, tmp_path):
    ann = coco_mini / "annotations" / "person_keypoints_train2017.json"
    picked = calibration_images(ann, 5)
    assert len(picked) == 5 and all(c.path.is_file() and c.boxes is not None and len(c.boxes) for c in picked)
    crops = export_inputs("mobileposenet", picked, (64, 48))
    assert crops.shape == (sum(len(c.boxes) for c in picked), 3, 64, 48)
    whole = export_inputs("ghostpose", picked, (64, 64))
    assert whole.shape == (5, 3, 64, 64)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"annotations": []}))
    with pytest.raises(ValueError, match=f"calibration file {bad}: not a COCO annotation file"):
        calibration_images(bad, 4)


def test_default_calibration_is_lspet_train():
    if not LSPET.exists():
        pytest.skip(f"{LSPET} is absent: the real data lives in ../shared beside the checkout (CI has it)")
    found = default_calibration()
    assert found is not None and found.name == "lspet_train.json"
    assert isinstance(calibration_images(found, 2)[0], CalibImage)


def test_export_int8_of_shipped_weights_keeps_the_poses(coco_mini, tmp_path, monkeypatch, capsys):
    """``featherpose export --int8 --calib GLOB`` of the shipped MobilePoseNet: on held-out coco-mini val
    persons (ground-truth boxes) the INT8 poses stay close to fp32's."""
    pytest.importorskip("onnxruntime")
    from featherpose.cli import main
    from featherpose.inference import PoseEstimator

    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "m-int8.onnx"
    calib = str(coco_mini / "train2017" / "*.jpg")
    assert main(["export", "--model", "mobileposenet", "--int8", "--calib", calib, "--calib-count", "6",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "calibrated on 6 of" in capsys.readouterr().out
    gt = json.loads((coco_mini / "annotations" / "person_keypoints_val2017.json").read_text())
    big = [a for a in gt["annotations"] if a["num_keypoints"] >= 10 and a["area"] > 20000][:6]
    files = {im["id"]: coco_mini / "val2017" / im["file_name"] for im in gt["images"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = PoseEstimator("mobileposenet", backend="onnxruntime", precision="fp32", nms="none")
        int8 = PoseEstimator(str(out), backend="onnxruntime", precision="int8", nms="none")
    errors = []
    for a in big:
        box = np.array([[*a["bbox"], 1.0]])
        ref, got = fp32(files[a["image_id"]], boxes=box)[0], int8(files[a["image_id"]], boxes=box)[0]
        errors.append(np.linalg.norm(np.asarray(ref.keypoints)[:, :2] - np.asarray(got.keypoints)[:, :2], axis=1))
        size = max(a["bbox"][2], a["bbox"][3])
        errors[-1] = errors[-1] / size
    err = np.concatenate(errors)
    assert np.median(err) < 0.03, f"INT8 moved the median keypoint by {np.median(err):.3f} of the box"
    assert np.abs(err).max() > 0  # it really is quantised
