"""Bottom-up test scale and flip test, per family (docs/evaluation.md, "Test scale, flip, decoder,
pose score per family"): the rule's sizes, the family defaults, a weights file's own choice, and the
perfect-map round trip (the codec's encoding of the ground truth as the network) at every rule, with
and without flip, several images of different aspect ratios batched together."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from featherpose import pretrained
from featherpose.codecs import get_codec
from featherpose.data import CocoKeypoints
from featherpose.evaluation.coco import coco_keypoint_ap
from featherpose.inference import PoseEstimator
from featherpose.inference.split import predict_split
from featherpose.inference.targets import codec_estimator
from featherpose.modelfile import ModelMeta, ModelMetaError
from featherpose.preprocess import FAMILY_TEST_SCALE, family_test_scale, test_scale_size

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights")

COCO_MINI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "coco-mini"


def test_rule_sizes() -> None:
    landscape, portrait = (427, 640), (640, 427)
    assert test_scale_size(landscape, (256, 256), "fit", 32) == (256, 256)
    assert test_scale_size(landscape, (256, 256), "short_side", 32) == (256, 384)  # 383.7 -> 384
    assert test_scale_size(portrait, (256, 256), "short_side", 32) == (384, 256)
    assert test_scale_size(landscape, (512, 512), "short_side", 64) == (512, 768)
    assert test_scale_size(landscape, (368, 368), "height", 8) == (368, 552)  # 551.6 -> 552
    assert test_scale_size(portrait, (256, 256), "height", 8) == (256, 176)  # as external aspect_size
    with pytest.raises(ValueError, match="test_scale must be one of"):
        test_scale_size(landscape, (256, 256), "long_side", 8)


def test_family_defaults() -> None:
    assert family_test_scale("litepose") == family_test_scale("wlitepose") == "short_side"
    assert family_test_scale("openpose") == "height"
    assert family_test_scale("mobileposenet") == "fit"
    assert set(FAMILY_TEST_SCALE.values()) <= {"short_side", "height"}
    assert PoseEstimator("litepose_xs", backend="torch").test_scale == "short_side"
    assert PoseEstimator("lw_openpose", backend="torch").test_scale == "height"
    assert PoseEstimator("lw_openpose", backend="torch", test_scale="fit").test_scale == "fit"
    with pytest.raises(ValueError, match="test_scale"):
        PoseEstimator("lw_openpose", backend="torch", test_scale="long")


def test_meta_carries_test_scale() -> None:
    meta = ModelMeta.for_model("ghostpose")
    assert "test_scale" not in meta.to_dict()  # absent: the family's rule
    assert PoseEstimator.from_module(meta.build(), meta).test_scale == "height"
    fitted = dataclasses.replace(meta, test_scale="fit")
    again = ModelMeta.from_json(fitted.to_json())
    assert again.test_scale == "fit"
    assert PoseEstimator.from_module(again.build(), again).test_scale == "fit"
    assert PoseEstimator.from_module(again.build(), again, test_scale="height").test_scale == "height"
    with pytest.raises(ModelMetaError, match="test_scale"):
        ModelMeta.from_dict({**fitted.to_dict(), "test_scale": "long"})


def test_shipped_ghostpose_keeps_its_training_fit() -> None:
    """The shipped ghostpose was trained on images fitted long side into 256 x 256 and scores best
    so (docs/evaluation.md): its file says ``test_scale: fit``."""
    if not pretrained.has_weights("ghostpose"):
        pytest.skip("no shipped ghostpose weights")
    assert PoseEstimator("ghostpose", backend="torch").test_scale == "fit"


@pytest.mark.parametrize(
    ("codec_name", "rule"),
    [("ae-multires", "fit"), ("ae-multires", "short_side"), ("openpose", "fit"), ("openpose", "height")],
)
def test_perfect_maps_flip_same_ap(codec_name: str, rule: str) -> None:
    """The flip test merges the mirrored view's heatmaps and tags / PAFs (unflipped through the codec
    contract) in the base view's frame: with perfect maps flip on and off give the same AP (within
    0.01), at every test scale, with images of different aspect ratios in one batch (padded)."""
    if not COCO_MINI.exists():
        pytest.skip(f"{COCO_MINI} is absent: the real data lives in ../shared beside the checkout")
    ann_path = COCO_MINI / "annotations" / "person_keypoints_val2017.json"
    data = CocoKeypoints(ann_path)
    records = [r for r in data.images if r.persons][:12]
    assert len({r.width / r.height > 1 for r in records}) == 2  # landscape and portrait images
    raw = json.loads(ann_path.read_text())
    ids = {r.id for r in records}
    gt = {**raw, "images": [im for im in raw["images"] if im["id"] in ids],
          "annotations": [a for a in raw["annotations"] if a["image_id"] in ids]}  # fmt: skip
    aps = {}
    for flip in (False, True):
        codec = get_codec(codec_name, input_size=(256, 256))
        est = codec_estimator(codec, data.keypoint_set, flip=flip, test_scale=rule)
        assert est.test_scale == rule
        results, _ = predict_split(est, records, COCO_MINI / "val2017", category_id=data.category_id)
        aps[flip] = coco_keypoint_ap(gt, results)["AP"]
    assert aps[False] > 0.85, aps
    assert abs(aps[True] - aps[False]) < 0.01, aps
