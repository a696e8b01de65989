"""A :class:`~featherpose.inference.PoseEstimator` over an annotated split: the one prediction path
of ``featherpose eval``, the trainer's validation and ``codec-check``.

Top-down models get the ground-truth person boxes (score 1), or the boxes of the estimator's
``boxes_file`` (a COCO detection-results file, exactly as ``featherpose infer --boxes``); bottom-up
models see whole images. Images are read from their files as ``infer`` reads them, and the poses
are written as ``infer`` writes them (:meth:`Pose.to_coco`), so an AP computed here is the AP of
what ``infer`` outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from featherpose.data.records import ImageRecord, PersonAnnotation

from .pose import Pose

DEFAULT_PADDING = 1.25


def person_box(person: PersonAnnotation, padding: float = DEFAULT_PADDING) -> np.ndarray:
    """The (x, y, w, h) box whose crop (``box_padding=padding``) is the training crop of ``person``:
    the annotation's box, or for MPII (centre + box side already grown by 1.25) the square box that
    reproduces that centre and side."""
    if person.center is not None and person.box_size is not None:
        side = float(person.box_size) / padding
        cx, cy = (float(v) for v in person.center)
        return np.array([cx - side / 2, cy - side / 2, side, side], np.float64)
    return np.asarray(person.bbox, np.float64).reshape(4)


def ground_truth_boxes(records: Sequence[ImageRecord], padding: float = DEFAULT_PADDING) -> list[dict]:
    """The ground-truth person boxes of ``records`` as a COCO detection-results list (score 1): what
    ``predict_split`` uses by default, to hand to ``featherpose infer --boxes``."""
    return [{"image_id": int(r.id), "category_id": 1, "score": 1.0,
             "bbox": [float(v) for v in person_box(p, padding)]}
            for r in records for p in r.persons]  # fmt: skip


def predict_split(
    est: object,
    records: Sequence[ImageRecord],
    images_dir: str | Path,
    category_id: int = 1,
    gt_boxes: bool | None = None,
    chunk: int = 8,
) -> tuple[list[dict], list[list[Pose]]]:
    """Run ``est`` on every record's image (``images_dir / file_name``) -> (COCO results, poses per
    record). Top-down: ``gt_boxes`` (default: True unless ``est`` has a ``boxes_file``) gives each
    record's person boxes in person order. A :class:`~featherpose.inference.targets.TargetRunner`
    runner gets each image's ground truth first."""
    folder = Path(images_dir)
    top_down = est.paradigm == "top-down"  # type: ignore[attr-defined]
    if gt_boxes is None:
        gt_boxes = top_down and est.detections is None  # type: ignore[attr-defined]
    set_images = getattr(est.runner, "set_images", None)  # type: ignore[attr-defined]
    padding = float(getattr(est, "box_padding", DEFAULT_PADDING))
    results: list[dict] = []
    poses: list[list[Pose]] = []
    for start in range(0, len(records), max(1, chunk)):
        part = list(records[start : start + chunk])
        if set_images is not None:
            set_images([r.keypoints() for r in part])
        boxes = None
        if top_down and gt_boxes:
            boxes = [np.array([person_box(p, padding) for p in r.persons]).reshape(-1, 4) for r in part]
        found = est.predict_batch([folder / r.file_name for r in part], boxes=boxes,  # type: ignore[attr-defined]
                                  image_ids=[r.id for r in part])  # fmt: skip
        for rec, image_poses in zip(part, found, strict=True):
            results += [p.to_coco(rec.id, category_id) for p in image_poses]
            poses.append(image_poses)
    return results, poses


def match_to_boxes(poses: Sequence[Pose], boxes: np.ndarray) -> list[Pose | None]:
    """The pose made from each box (top-down, no NMS: a pose keeps its box), in box order."""
    out: list[Pose | None] = []
    for b in np.asarray(boxes, np.float64).reshape(-1, 4):
        dist = [float(np.abs(np.subtract(p.box, b)).sum()) for p in poses]
        out.append(poses[int(np.argmin(dist))] if dist and min(dist) < 1e-3 * (1 + np.abs(b).sum()) else None)
    return out
