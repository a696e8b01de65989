"""The :class:`Pose` result type and its conversions (COCO results format, boxes from keypoints)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Pose:
    """One person: ``keypoints`` (K, 3) rows of (x, y, score) in image pixels (pixel centres at
    integers), the pose ``score``, the person ``box`` (x, y, w, h) in image pixels and, when a
    tracker ran, a ``track_id``. A keypoint that was not found has score 0."""

    keypoints: np.ndarray
    score: float
    box: tuple[float, float, float, float]
    track_id: int | None = None

    def to_coco(self, image_id: int, category_id: int = 1, **extra: object) -> dict:
        """A COCO keypoint *results* entry (``keypoints`` flattened as x, y, score per keypoint)."""
        entry = {
            "image_id": int(image_id),
            "category_id": int(category_id),
            "keypoints": [round(float(v), 3) for v in np.asarray(self.keypoints, np.float64).reshape(-1)],
            "score": round(float(self.score), 6),
            "bbox": [round(float(v), 2) for v in self.box],
        }
        if self.track_id is not None:
            entry["track_id"] = int(self.track_id)
        entry.update(extra)
        return entry


def box_from_keypoints(keypoints: np.ndarray, thr: float = 0.0, pad: float = 0.0) -> tuple[float, float, float, float]:
    """(x, y, w, h) extent of the keypoints scoring above ``thr`` (all of them if none do), each
    side grown by ``pad`` times the extent (a keypoint box is tighter than a person box)."""
    kp = np.asarray(keypoints, np.float64)
    sel = kp[kp[:, 2] > thr] if kp.shape[1] > 2 and (kp[:, 2] > thr).any() else kp
    lo, hi = sel[:, :2].min(0), sel[:, :2].max(0)
    size = hi - lo
    lo, hi = lo - pad * size, hi + pad * size
    return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])


def poses_from_arrays(
    keypoints: np.ndarray, scores: np.ndarray, boxes: np.ndarray | None = None, box_thr: float = 0.0
) -> list[Pose]:
    """Build poses from (P, K, 3) keypoints, (P,) scores and optional (P, 4) boxes (else from keypoints)."""
    kps = np.asarray(keypoints, np.float32).reshape(len(scores), -1, 3)
    out = []
    for i in range(len(kps)):
        box = tuple(float(v) for v in boxes[i]) if boxes is not None else box_from_keypoints(kps[i], box_thr)
        out.append(Pose(kps[i].copy(), float(scores[i]), box))
    return out


def poses_to_array(poses: list[Pose], num_keypoints: int) -> np.ndarray:
    """Stack poses' keypoints into a (P, K, 3) float32 array (shape (0, K, 3) for no poses)."""
    if not poses:
        return np.zeros((0, num_keypoints, 3), np.float32)
    return np.stack([np.asarray(p.keypoints, np.float32) for p in poses])
