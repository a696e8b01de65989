"""``featherpose label`` end to end on real data: Intel's trained OpenPose IR over LSPET and coco-mini,
merging into LSPET's human labels, bad images, resume after an interruption; plus featherpose's own
shipped weights when they are there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from featherpose import pretrained
from featherpose.cli import main
from featherpose.commands import label as cmd
from featherpose.models import get_spec
from featherpose.skeletons import COCO17

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
LSPET = SHARED / "data" / "lspet"
OMZ = SHARED / "peers" / "omz-human-pose-estimation-0001" / "human-pose-estimation-0001.xml"
COCO_VAL = SHARED / "data" / "coco-mini" / "val2017"
FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


pytestmark = pytest.mark.usefixtures("one_thread")


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the real data and peer models live in ../shared beside the checkout")
    return path


@pytest.fixture
def omz() -> list[str]:
    """The OMZ IR with its input size (height 368, width from the image), as CLI arguments."""
    pytest.importorskip("openvino", reason="openvino is not installed: the OMZ IR needs it")
    return ["--model", str(_need(OMZ)), "--input-size", "368"]


@pytest.fixture
def coco_images(tmp_path: Path) -> Path:
    """Three coco-mini val images in a folder of their own."""
    src = sorted(_need(COCO_VAL).glob("*.jpg"))[:3]
    folder = tmp_path / "coco"
    folder.mkdir()
    for f in src:
        shutil.copy(f, folder / f.name)
    return folder


def _lspet_subset(tmp_path: Path, n: int) -> tuple[list[str], Path, dict]:
    """The first ``n`` LSPET val images and a human file restricted to them."""
    data = json.loads((_need(LSPET) / "annotations" / "lspet_val.json").read_text())
    images = data["images"][:n]
    ids = {im["id"] for im in images}
    data.update(images=images, annotations=[a for a in data["annotations"] if a["image_id"] in ids])
    human = tmp_path / "human.json"
    human.write_text(json.dumps(data))
    return [str(LSPET / "images" / im["file_name"]) for im in images], human, data


def test_lspet_merge_fills_face_points_and_keeps_human_labels(omz, tmp_path, capsys):
    files, human_file, human = _lspet_subset(tmp_path, 15)
    out = tmp_path / "lspet_coco17.json"
    assert main(["label", *files, *omz, "--merge", str(human_file), "--unmatched", "ignore", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "15 images" in printed and "merge:" in printed and "15 of 15 human images" in printed
    assert not cmd.partial_path(out).exists()
    merged = json.loads(out.read_text())
    assert merged["categories"][0]["keypoints"] == list(COCO17.keypoints)
    assert merged["images"] == human["images"]
    h_names = human["categories"][0]["keypoints"]
    by_id = {a["id"]: a for a in merged["annotations"]}
    filled_face = 0
    for h in human["annotations"]:
        m = by_id[h["id"]]  # every human person is there, under its id
        hk = np.asarray(h["keypoints"], float).reshape(-1, 3)
        mk = np.asarray(m["keypoints"], float).reshape(17, 3)
        for i, n in enumerate(h_names):
            if n in COCO17.keypoints and hk[i, 2] > 0:
                np.testing.assert_array_equal(mk[COCO17.keypoints.index(n)], hk[i])  # human label unchanged
        for n in ("neck", "head_top"):
            if hk[h_names.index(n), 2] > 0:
                assert m["unmapped_keypoints"][n] == hk[h_names.index(n)].tolist()
        filled = m.get("pseudo_keypoints", [])
        assert all(hk[h_names.index(n), 2] == 0 for n in filled if n in h_names)  # only missing points
        filled_face += sum(n in FACE for n in filled)
        assert m["num_keypoints"] == int((mk[:, 2] > 0).sum())
    # measured: 11 of 15 persons matched, 46 points filled, 38 of them face points
    assert filled_face >= 20, printed
    extra = [a for a in merged["annotations"] if a.get("pseudo")]
    assert extra and all(a["iscrowd"] == 1 and a["num_keypoints"] == 0 for a in extra)  # --unmatched ignore
    assert f"{len(extra)} ignore regions" in printed and "0 extra persons" in printed


def test_merge_file_sharing_no_name_fails_before_labelling(omz, coco_images, tmp_path, capsys):
    human = {"images": [], "annotations": [], "categories": [{"id": 1, "keypoints": ["a", "b"], "skeleton": [[1, 2]]}]}
    (tmp_path / "h.json").write_text(json.dumps(human))
    out = tmp_path / "o.json"
    assert main(["label", str(coco_images), *omz, "--merge", str(tmp_path / "h.json"), "--out", str(out)]) == 2
    assert "share no name with the model's" in capsys.readouterr().err
    assert not out.exists() and not cmd.partial_path(out).exists()


def test_coco_images_without_merge(omz, coco_images, capsys):
    out = coco_images.parent / "labels.json"
    assert main(["label", str(coco_images), *omz, "--out", str(out), "--pose-thr", "0.2", "--min-keypoints", "4"]) == 0
    data = json.loads(out.read_text())
    names = sorted(p.name for p in coco_images.iterdir())
    assert [im["file_name"] for im in data["images"]] == names  # relative to the folder given
    from PIL import Image

    for im in data["images"]:
        with Image.open(coco_images / im["file_name"]) as pil:
            assert (im["width"], im["height"]) == pil.size
        assert im["id"] == int(Path(im["file_name"]).stem)  # COCO names keep their ids
    assert data["annotations"], "the OMZ IR finds people in coco-mini"
    for a in data["annotations"]:
        v = np.asarray(a["keypoints"]).reshape(17, 3)[:, 2]
        assert set(v) <= {0, 2} and a["num_keypoints"] == int((v > 0).sum()) >= 4 and a["score"] >= 0.2
    assert f"3 images, {len(data['annotations'])} pseudo-labelled persons" in capsys.readouterr().out


def test_bad_image_is_skipped_and_reported(omz, coco_images, tmp_path, capsys):
    bad = coco_images / "broken.jpg"
    good = next(coco_images.glob("0*.jpg")).read_bytes()
    bad.write_bytes(good[: len(good) // 3])  # truncated JPEG
    out = tmp_path / "labels.json"
    assert main(["label", str(coco_images), *omz, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 inputs:" in err and f"{bad}: truncated or corrupt image data" in err
    assert len(json.loads(out.read_text())["images"]) == 3
    # a single bad input: one line, exit 2, nothing written
    assert main(["label", str(bad), *omz, "--out", str(tmp_path / "one.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"featherpose label: error: {bad}")
    assert not (tmp_path / "one.json").exists()
    assert main(["label", "nope1.jpg", "nope2.jpg", *omz, "--out", str(tmp_path / "two.json")]) == 2
    assert "no images to label (nope1.jpg: file not found; nope2.jpg: file not found)" in capsys.readouterr().err


def test_resume_after_interruption(omz, coco_images, monkeypatch, capsys):
    from featherpose.inference import PoseEstimator

    out = coco_images.parent / "labels.json"
    args = ["label", str(coco_images), *omz, "--out", str(out)]
    calls = []
    real_call = PoseEstimator.__call__

    def interrupt_third(self, image, *a, **k):
        calls.append(image.source)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_call(self, image, *a, **k)

    monkeypatch.setattr(PoseEstimator, "__call__", interrupt_third)
    assert main(args) == 130
    partial = cmd.partial_path(out)
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert not out.exists() and len(partial.read_text().splitlines()) == 3  # header + 2 images
    with partial.open("a") as fh:
        fh.write('{"file_name": "torn')  # a write cut off by the crash

    calls.clear()
    monkeypatch.setattr(PoseEstimator, "__call__", lambda self, image, *a, **k: calls.append(1) or real_call(
        self, image, *a, **k))  # fmt: skip
    assert main(args) == 0
    assert len(calls) == 1  # only the image not in the partial file ran
    assert "3 images (2 resumed from labels.json.partial.jsonl)" in capsys.readouterr().out
    assert not partial.exists()
    resumed = json.loads(out.read_text())

    monkeypatch.setattr(PoseEstimator, "__call__", real_call)
    fresh = coco_images.parent / "fresh.json"
    assert main(["label", str(coco_images), *omz, "--out", str(fresh)]) == 0
    assert json.loads(fresh.read_text())["annotations"] == resumed["annotations"]


def test_partial_file_of_another_run_is_refused(omz, coco_images, capsys):
    out = coco_images.parent / "labels.json"
    partial = cmd.partial_path(out)
    partial.write_text(json.dumps({"featherpose_label": 1, "model": "other.xml"}) + "\n")
    assert main(["label", str(coco_images), *omz, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds results of another run" in err and "delete it" in err


def test_inputs_root_and_ids(tmp_path):
    (tmp_path / "a" / "sub").mkdir(parents=True)
    for name in ("a/x.jpg", "a/sub/y.png", "a/notes.txt"):
        (tmp_path / name).write_bytes(b"")
    flat, failures = cmd.collect_images([str(tmp_path / "a")])
    assert [p.name for p in flat] == ["x.jpg"] and not failures
    deep, failures = cmd.collect_images([str(tmp_path / "a"), str(tmp_path / "a" / "x.jpg"), "missing.jpg"], True)
    assert [p.name for p in deep] == ["y.png", "x.jpg"] and failures == [("missing.jpg", "file not found")]
    root = cmd.common_root([str(tmp_path / "a")])
    assert root == tmp_path / "a" and cmd.common_root([str(p) for p in deep]) == tmp_path / "a"
    assert [cmd.relative_name(p, root) for p in deep] == ["sub/y.png", "x.jpg"]
    with pytest.raises(cmd.CLIError, match="not under --root"):
        cmd.relative_name(tmp_path / "elsewhere.jpg", root)
    assert cmd.image_ids(["000000000139.jpg", "b.jpg", "a/1.jpg", "c.jpg"]) == {
        "000000000139.jpg": 139, "a/1.jpg": 1, "b.jpg": 2, "c.jpg": 3}  # fmt: skip


def test_random_weights_are_refused(tmp_path, capsys):
    img = tmp_path / "x.jpg"
    img.write_bytes(b"")
    model = next(m for m in ("litepose_xs", "hrnet_w32") if not pretrained.has_weights(m))
    assert main(["label", str(tmp_path), "--model", model, "--out", str(tmp_path / "o.json")]) == 2
    assert "x.jpg: empty file" in capsys.readouterr().err  # the bad image is found before the model loads
    shutil.copy(next(iter(sorted(_need(COCO_VAL).glob("*.jpg")))), img)
    assert main(["label", str(img), "--model", model, "--out", str(tmp_path / "o.json")]) == 2
    assert "has no shipped weights: pass --weights" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["ghostpose", "mobileposenet"])
def test_registered_model_with_shipped_weights(model, tmp_path, capsys):
    if not pretrained.has_weights(model):
        pytest.skip(f"{model} has no shipped weights yet (they land in src/featherpose/weights/ when trained)")
    if get_spec(model).paradigm == "top-down" and not pretrained.has_weights(pretrained.DEFAULT_DETECTOR):
        pytest.skip(f"top-down {model} needs the shipped detector {pretrained.DEFAULT_DETECTOR}, which has no weights")
    files, human_file, _ = _lspet_subset(tmp_path, 4)
    out = tmp_path / "labels.json"
    code = main(["label", *files, "--model", model, "--backend", "torch", "--merge", str(human_file),
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    merged = json.loads(out.read_text())
    k = len(merged["categories"][0]["keypoints"])
    assert len(merged["images"]) == 4 and all(len(a["keypoints"]) == 3 * k for a in merged["annotations"] if
                                              "keypoints" in a)  # fmt: skip
    assert "merge:" in capsys.readouterr().out
