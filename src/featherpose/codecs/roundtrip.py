"""Codec round trip: encode ground truth, decode it, map back to the image, score with COCO AP.

It measures what a codec alone loses (quantisation, sub-pixel decoding, grouping), the ceiling a
perfect network could reach with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from featherpose.codecs.associative_embedding import AssociativeEmbeddingCodec
from featherpose.codecs.heatmap import HeatmapCodec
from featherpose.codecs.openpose import OpenPoseCodec
from featherpose.data.coco import CocoKeypoints
from featherpose.data.errors import ImageError
from featherpose.data.records import ImageRecord
from featherpose.data.transforms import affine_points, box_to_center_scale, fit_matrix, get_warp_matrix, invert_affine
from featherpose.evaluation.coco import coco_keypoint_ap
from featherpose.skeletons import openpose_to_coco


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


def _image_size(record: ImageRecord, images_dir: Path) -> tuple[int, int]:
    path = images_dir / record.file_name
    if not path.is_file():
        raise ImageError(path, "file not found")
    if record.width > 0 and record.height > 0:
        return record.width, record.height
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageError(path, "cannot be decoded (corrupt or not an image)")
    return img.shape[1], img.shape[0]


def _result(image_id: int, category_id: int, kps: np.ndarray, scores: np.ndarray, score: float) -> dict:
    flat = np.concatenate([kps, scores[:, None]], 1).reshape(-1)
    return {
        "image_id": image_id,
        "category_id": category_id,
        "keypoints": [float(v) for v in flat],
        "score": float(score),
    }


def roundtrip(codec: object, ann: str | Path, images_dir: str | Path) -> RoundTrip:
    """Round-trip every annotated person of a COCO-format file through ``codec`` and score it."""
    data = CocoKeypoints(ann)
    images_dir = Path(images_dir)
    results: list[dict] = []
    decode_s = 0.0
    for rec in data.images:
        width, height = _image_size(rec, images_dir)
        if not rec.persons:
            continue
        kps = rec.keypoints()
        if isinstance(codec, HeatmapCodec):
            res, dt = _topdown(codec, rec, kps)
        elif isinstance(codec, OpenPoseCodec | AssociativeEmbeddingCodec):
            res, dt = _bottomup(codec, data, rec, kps, width, height)
        else:
            raise TypeError(f"no round trip for {type(codec).__name__}")
        results += [_result(rec.id, data.category_id, *r) for r in res]
        decode_s += dt
    metrics = coco_keypoint_ap(ann, results)
    return RoundTrip(metrics, len(data.images), data.num_persons, decode_s)


def _topdown(codec: HeatmapCodec, rec: ImageRecord, kps: np.ndarray) -> tuple[list, float]:
    ih, iw = codec.input_size
    mats = []
    for p in rec.persons:
        c, s = box_to_center_scale(p.bbox, iw / ih)
        mats.append(get_warp_matrix(c, s, 0.0, codec.input_size, udp=codec.udp))
    local = np.stack([affine_points(k, m) for k, m in zip(kps, mats, strict=True)])
    heatmaps, _ = codec.encode(local)
    t0 = time.perf_counter()
    pred, scores = codec.decode(heatmaps)
    dt = time.perf_counter() - t0
    out = []
    for i, m in enumerate(mats):
        xy = affine_points(pred[i], invert_affine(m))
        out.append((xy, scores[i], float(scores[i].mean())))
    return out, dt


def _bottomup(codec, data: CocoKeypoints, rec: ImageRecord, kps: np.ndarray, width: int, height: int):
    m, _ = fit_matrix(width, height, codec.input_size)
    local = codec.prepare_keypoints(affine_points(kps, m), data.keypoint_set)
    local[local[..., 2] <= 0, :2] = 0.0
    targets = codec.encode(local)
    t0 = time.perf_counter()
    if isinstance(codec, OpenPoseCodec):
        poses = codec.decode(targets["heatmaps"][None], targets["pafs"][None])[0]
    else:
        tags = codec.render_tags(local)
        poses = codec.decode([h[None] for h in targets["heatmaps"]], tags[None])[0]
    dt = time.perf_counter() - t0
    inv = invert_affine(m)
    out = []
    for i in range(len(poses)):
        xy, sc = poses.keypoints[i], poses.keypoint_scores[i]
        if isinstance(codec, OpenPoseCodec):
            both = openpose_to_coco(np.concatenate([xy, sc[:, None]], 1))
            xy, sc = both[:, :2], both[:, 2]
        out.append((affine_points(xy, inv), sc, float(poses.scores[i])))
    return out, dt


def codec_check(name: str, ann: str | Path, images_dir: str | Path, input_size: tuple[int, int] | None = None) -> dict:
    """Build codec ``name`` (optionally at ``input_size`` (H, W)) and round-trip ``ann``; a flat dict."""
    from featherpose.codecs import get_codec

    kw = {"input_size": input_size} if input_size else {}
    return roundtrip(get_codec(name, **kw), ann, images_dir).as_dict()
