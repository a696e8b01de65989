"""Codec round trip: encode ground truth, decode it, map back to the image, score with COCO AP.

It measures what a codec alone loses (quantisation, sub-pixel decoding, grouping), the ceiling a
perfect network could reach with it -- through the same :class:`~featherpose.inference.PoseEstimator`
path that ``infer`` and ``eval`` run, the network replaced by the encoded ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from featherpose.codecs.base import Codec
from featherpose.data.coco import CocoKeypoints
from featherpose.data.errors import ImageError
from featherpose.data.records import ImageRecord
from featherpose.evaluation.coco import coco_keypoint_ap
from featherpose.io import InputError


@dataclass
class RoundTrip:
    """COCO metrics of a round trip plus counts and the time spent decoding."""

    metrics: dict[str, float]
    n_images: int
    n_persons: int
    decode_seconds: float

    def as_dict(self) -> dict[str, float | int]:
        out: dict[str, float | int] = dict(self.metrics)
        out.update(n_images=self.n_images, n_persons=self.n_persons)
        out["decode_ms_per_image"] = 1000.0 * self.decode_seconds / max(self.n_images, 1)
        return out


def _check_images(records: list[ImageRecord], images_dir: Path) -> None:
    for rec in records:
        path = images_dir / rec.file_name
        if not path.is_file():
            raise ImageError(path, "file not found")


def roundtrip(codec: Codec, ann: str | Path, images_dir: str | Path, flip: bool = False) -> RoundTrip:
    """Round-trip every annotated person of a COCO-format file through ``codec`` and score it.

    This is the prediction path of ``featherpose infer`` / ``eval`` (:class:`PoseEstimator`: crops on
    the ground-truth boxes or the whole-image fit, flip merge, decoding, pose score, NMS, mapping
    back) with the network replaced by the codec's encoding of the ground truth
    (:class:`~featherpose.inference.targets.TargetRunner`). ``decode_seconds``: the estimator's
    post-processing time (decode, grouping, NMS)."""
    from featherpose.inference.split import predict_split
    from featherpose.inference.targets import codec_estimator

    data = CocoKeypoints(ann)
    images_dir = Path(images_dir)
    records = [r for r in data.images if r.persons]
    _check_images(data.images, images_dir)
    est = codec_estimator(codec, data.keypoint_set, flip=flip)
    try:
        results, _ = predict_split(est, records, images_dir, category_id=data.category_id)
    except InputError as exc:
        raise ImageError(Path(str(exc.source)), exc.problem) from None
    metrics = coco_keypoint_ap(ann, results)
    return RoundTrip(metrics, len(data.images), data.num_persons, est.timer.total.get("post", 0.0))


def codec_check(
    name: str, ann: str | Path, images_dir: str | Path, input_size: tuple[int, int] | None = None, flip: bool = False
) -> dict:
    """Build codec ``name`` (optionally at ``input_size`` (H, W)) and round-trip ``ann``; a flat dict."""
    from featherpose.codecs import get_codec

    kw = {"input_size": input_size} if input_size else {}
    return roundtrip(get_codec(name, **kw), ann, images_dir, flip).as_dict()
