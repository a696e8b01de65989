"""Training sees what inference sees: one real coco-mini image through the training dataset without
augmentation (built as the trainer builds it, normalised with ``Normalisation.for_model``) and through
the estimator's preprocessing gives the same network input, for every model family.

Bottom-up models are tested by default at their papers' test scale (``PoseEstimator(test_scale=)``:
LitePose the short side, the OpenPose family the height, as the input size), which by design is not
the training fit (long side into the square input). The warp is the same; only the input size that
the image is fitted into differs. So each bottom-up case runs twice: ``test_scale="fit"`` against the
training dataset at the training size, and the family's rule against the training dataset built at
the size that rule gives for this image (fitting into it scales by exactly the rule's factor)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from featherpose.codecs import get_codec
from featherpose.data import BottomUpDataset, CocoKeypoints, TopDownDataset
from featherpose.data.transforms import Normalisation
from featherpose.inference import PoseEstimator
from featherpose.modelfile import ModelMeta
from featherpose.models import get_spec, list_models
from featherpose.skeletons import OPENPOSE18

ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "coco-mini"


class Capture:
    """Wraps the estimator's runner and keeps the batches it is given."""

    def __init__(self, inner: object) -> None:
        self.inner, self.batches = inner, []

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        self.batches.append(batch.copy())
        return self.inner(batch)  # type: ignore[operator]


def _rule_size(width: int, height: int, rule: str, size: tuple[int, int], divisor: int) -> tuple[int, int]:
    """Independent re-statement of the bottom-up test scale (docs/evaluation.md)."""
    if rule == "fit":
        return size
    f = size[0] / height if rule == "height" else min(size) / min(height, width)
    return tuple(int(np.ceil(round(v * f) / divisor) * divisor) for v in (height, width))  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("model", "codec", "size", "rule"),
    [("mobileposenet", "heatmap", (256, 192), None), ("mobileposenet", "udp", (256, 192), None),
     ("litepose_xs", "ae-multires", (256, 256), "fit"), ("litepose_xs", "ae-multires", (256, 256), "short_side"),
     ("lw_openpose", "openpose", (368, 368), "fit"), ("lw_openpose", "openpose", (368, 368), "height"),
     ("ghostpose", "openpose", (368, 368), "fit"), ("ghostpose", "openpose", (368, 368), "height")],
)  # fmt: skip
def test_network_input_equals_training_input(model: str, codec: str, size: tuple[int, int], rule: str | None) -> None:
    if not ROOT.exists():
        pytest.skip(f"{ROOT} is absent: the real data lives in ../shared beside the checkout")
    if model not in list_models():
        pytest.skip(f"{model} is not registered")
    torch.set_num_threads(1)
    ann = CocoKeypoints(ROOT / "annotations" / "person_keypoints_val2017.json")
    images = ROOT / "val2017"
    net = get_spec(model).build()
    norm = Normalisation.for_model(net)
    enc = get_codec(codec, input_size=size)
    top_down = enc.paradigm == "top-down"
    meta = None
    if not top_down:  # the training dataset at the size the test-scale rule gives this image
        kset = OPENPOSE18 if codec == "openpose" else ann.keypoint_set
        meta = ModelMeta.for_model(model, net, input_size=size, keypoint_set=kset, codec=codec)
        rec = ann.images[0]
        divisor = PoseEstimator.from_module(net, meta).divisor
        enc = get_codec(codec, input_size=_rule_size(rec.width, rec.height, rule, size, divisor))
    if top_down:
        ds = TopDownDataset(ann, images, enc, train=False, normalise=norm)
        index = next(i for i, (r, p) in enumerate(ds.samples) if (p.keypoints[:, 2] > 0).sum() > 8)
        rec, person = ds.samples[index]
    else:
        ds = BottomUpDataset(ann, images, enc, train=False, normalise=norm)
        index, rec = 0, ds.records[0]
    expected = ds[index]["image"].numpy()
    kset = OPENPOSE18 if codec == "openpose" else ann.keypoint_set
    meta = ModelMeta.for_model(model, net, input_size=size, keypoint_set=kset, codec=codec)
    est = PoseEstimator.from_module(net, meta, **({"test_scale": "fit"} if rule == "fit" else {}))
    if not top_down:
        assert est.test_scale == rule  # "fit" as asked, else the family's default
        assert rec.file_name == ann.images[0].file_name
        print(model, rule, (rec.height, rec.width), "->", expected.shape[-2:])
    est.runner = Capture(est.runner)
    est(images / rec.file_name, boxes=[person.bbox] if top_down else None)
    got = est.runner.batches[0][0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
