"""Loading real COCO / CrowdPose / MPII annotations, and failing clearly on malformed ones."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from featherpose.data import AnnotationError, CocoKeypoints, ImageError, MpiiKeypoints, read_image
from featherpose.evaluation.coco import load_coco
from featherpose.skeletons import COCO17, CROWDPOSE14


def test_coco_mini_loads(coco_mini):
    path = coco_mini / "annotations" / "person_keypoints_val2017.json"
    data = CocoKeypoints(path)
    raw = json.loads(path.read_text())
    assert data.keypoint_set.keypoints == COCO17.keypoints
    assert data.keypoint_set.flip_pairs == COCO17.flip_pairs  # inferred from left_/right_ names
    expected = sum(1 for a in raw["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0)
    assert data.num_persons == expected
    assert len(data) == len(raw["images"])
    person = data.person_samples()[0][1]
    assert person.keypoints.shape == (17, 3)


def test_crowd_and_unlabeled_become_ignore_mask(coco_mini):
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    rec = next(r for r in data.images if any(a.get("iscrowd") for a in r.ignore))
    mask = data.ignore_mask(rec)
    assert mask.shape == (rec.height, rec.width)
    crowd = next(a for a in rec.ignore if a.get("iscrowd"))
    x, y, w, h = crowd["bbox"]
    region = mask[int(y) : int(y + h), int(x) : int(x + w)]
    assert region.min() == 0.0 and mask.max() == 1.0
    # the ignored pixels include the crowd region exactly as pycocotools decodes it
    coco = load_coco(coco_mini / "annotations" / "person_keypoints_val2017.json")
    crowd_pixels = coco.annToMask(crowd) > 0
    assert crowd_pixels.sum() > 0 and (mask[crowd_pixels] == 0).all()
    assert (mask == 0).sum() < mask.size


def test_crowdpose_loads_with_its_own_keypoints(crowdpose_fixtures):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the public file carries COCO's 17-point skeleton
        data = CocoKeypoints(crowdpose_fixtures / "test_crowdpose.json")
    assert data.keypoint_set.keypoints == CROWDPOSE14.keypoints
    assert data.keypoint_set.num_keypoints == 14
    assert all(p.keypoints.shape == (14, 3) for _, p in data.person_samples())
    # the annotation with num_keypoints == 0 is an ignore region, not a person
    assert sum(len(r.ignore) for r in data.images) == 1


def test_custom_flip_pairs_field(tmp_path, coco_mini):
    raw = json.loads((coco_mini / "annotations" / "person_keypoints_val2017.json").read_text())
    cat = raw["categories"][0]
    cat["keypoints"] = [f"p{i}" for i in range(17)]  # names that give no left/right hint
    cat["flip_pairs"] = [[2, 3], [4, 5]]
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(raw))
    ks = CocoKeypoints(path).keypoint_set
    assert ks.flip_pairs == ((1, 2), (3, 4))
    assert ks.flip_index[:5] == [0, 2, 1, 4, 3]


def test_mpii_loads(mpii_fixtures):
    raw = json.loads((mpii_fixtures / "test_mpii.json").read_text())
    data = MpiiKeypoints(mpii_fixtures / "test_mpii.json")
    assert len(data) == len(raw)
    rec = data.images[0]
    p = rec.persons[0]
    assert p.keypoints.shape == (16, 3)
    np.testing.assert_allclose(p.keypoints[0, :2], np.asarray(raw[0]["joints"][0]) - 1)
    assert p.box_size == pytest.approx(raw[0]["scale"] * 200 * 1.25)
    img = read_image(mpii_fixtures / rec.file_name)
    h, w = img.shape[:2]
    vis = p.keypoints[:, 2] > 0
    assert (p.keypoints[vis, 0] < w).all() and (p.keypoints[vis, 1] < h).all()


def _coco_doc() -> dict:
    cat = COCO17.to_coco_category()
    ann = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 1, "bbox": [0, 0, 10, 10],
           "keypoints": [5, 5, 2] + [0] * 48}  # fmt: skip
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 20, "height": 20}], "annotations": [ann],
            "categories": [cat]}  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("annotations"), "missing list field 'annotations'"),
        (lambda d: d["annotations"][0].update(keypoints=[1, 2, 2] * 16), "48 keypoint values, expected 3 x 17"),
        (lambda d: d["annotations"][0].update(image_id=7), "unknown image_id 7"),
        (lambda d: d["annotations"][0].pop("bbox"), "no 'bbox'"),
        (
            lambda d: d["categories"][0].update(keypoints=[f"k{i}" for i in range(17)], skeleton=[[1, 40]]),
            "out of range",
        ),
        (lambda d: d["categories"][0].pop("keypoints"), "no category with a 'keypoints' list"),
    ],
)
def test_malformed_coco_fails_with_file_name(tmp_path, mutate, message):
    doc = _coco_doc()
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError) as err:
        CocoKeypoints(path)
    assert str(path) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_json_and_missing_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [')
    with pytest.raises(AnnotationError, match="broken.json: not valid JSON"):
        CocoKeypoints(path)
    with pytest.raises(AnnotationError, match="file not found"):
        MpiiKeypoints(tmp_path / "absent.json")


def test_malformed_mpii(tmp_path, mpii_fixtures):
    raw = json.loads((mpii_fixtures / "test_mpii.json").read_text())
    raw[1]["joints"] = raw[1]["joints"][:15]
    path = tmp_path / "mpii.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(AnnotationError, match=r"mpii.json: entry 1 has joints of shape \(15, 2\)"):
        MpiiKeypoints(path)
    del raw[2]["center"]
    raw[1]["joints"] = raw[0]["joints"]
    path.write_text(json.dumps(raw))
    with pytest.raises(AnnotationError, match="entry 2 is missing 'center'"):
        MpiiKeypoints(path)


def test_corrupt_and_missing_images(tmp_path):
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ImageError, match="corrupt.jpg: cannot be decoded"):
        read_image(bad)
    with pytest.raises(ImageError, match="nothere.jpg: file not found"):
        read_image(tmp_path / "nothere.jpg")
