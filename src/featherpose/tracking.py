"""Pose tracking across video frames: identities by optimal assignment (Hungarian,
``scipy.optimize.linear_sum_assignment``) on OKS or box IoU between the tracks' last poses and
the new frame's poses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from featherpose.inference.pose import Pose, box_from_keypoints
from featherpose.nms import oks_matrix

METRICS = ("oks", "iou")


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every (x, y, w, h) box of ``a`` (N, 4) and ``b`` (M, 4) -> (N, M)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    ax1, ay1, bx1, by1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass
class Track:
    """A tracked person: its id, last pose and the number of frames since it was last matched."""

    track_id: int
    pose: Pose
    missed: int = 0


class PoseTracker:
    """Give each pose a ``track_id`` that stays the same across frames.

    Each frame, the similarity between every live track's last pose and every new pose (``"oks"``
    with the keypoint set's ``sigmas`` and the box area as scale — box IoU for a pair without a
    keypoint above ``kpt_thr`` in both — or box ``"iou"``) is matched
    one-to-one by the Hungarian algorithm; pairs under ``threshold`` stay unmatched. Unmatched
    poses open new tracks; a track unmatched for more than ``max_missed`` frames is closed.
    """

    def __init__(
        self,
        metric: str = "oks",
        threshold: float = 0.3,
        max_missed: int = 10,
        sigmas: Sequence[float] | None = None,
        kpt_thr: float = 0.1,
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if metric == "oks" and sigmas is None:
            raise ValueError("OKS tracking needs the keypoint set's sigmas (or use metric='iou')")
        self.metric, self.threshold, self.max_missed = metric, threshold, max_missed
        self.sigmas = None if sigmas is None else np.asarray(sigmas, np.float64)
        self.kpt_thr = kpt_thr
        self.tracks: list[Track] = []
        self.next_id = 1

    def similarity(self, old: Sequence[Pose], new: Sequence[Pose]) -> np.ndarray:
        """(len(old), len(new)) similarity matrix with this tracker's metric."""
        if not old or not new:
            return np.zeros((len(old), len(new)))
        boxes_a = np.array([p.box for p in old], np.float64)
        boxes_b = np.array([p.box for p in new], np.float64)
        if self.metric == "iou":
            return box_iou(boxes_a, boxes_b)
        ka = np.stack([np.asarray(p.keypoints, np.float64) for p in old])
        kb = np.stack([np.asarray(p.keypoints, np.float64) for p in new])
        areas_a = np.maximum(boxes_a[:, 2] * boxes_a[:, 3], 1.0)
        areas_b = np.maximum(boxes_b[:, 2] * boxes_b[:, 3], 1.0)
        oks = oks_matrix(ka, kb, areas_a, self.sigmas, areas_b=areas_b, vis_thr=self.kpt_thr, both=True)
        common = (ka[:, :, 2] > self.kpt_thr).astype(float) @ (kb[:, :, 2] > self.kpt_thr).astype(float).T
        return np.where(common > 0, oks, box_iou(boxes_a, boxes_b))  # no shared keypoint: boxes decide

    def update(self, poses: Sequence[Pose]) -> list[Pose]:
        """Copies of ``poses`` with ``track_id`` set; updates the tracks."""
        sim = self.similarity([t.pose for t in self.tracks], poses)
        matched: dict[int, int] = {}  # pose index -> track index
        if sim.size:
            rows, cols = linear_sum_assignment(-sim)
            matched = {int(c): int(r) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= self.threshold}
        out: list[Pose] = []
        used = set(matched.values())
        for i, pose in enumerate(poses):
            if i in matched:
                track = self.tracks[matched[i]]
                track.missed = 0
            else:
                track = Track(self.next_id, pose)
                self.next_id += 1
                self.tracks.append(track)
            tracked = replace(pose, track_id=track.track_id)
            track.pose = tracked
            out.append(tracked)
        for j, track in enumerate(self.tracks[: len(sim)]):
            if j not in used:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return out

    def reset(self) -> None:
        self.tracks, self.next_id = [], 1


class BoxCarrier:
    """Person boxes for a top-down model between detector runs (the detector every ``every``
    frames, as rtmlib's and MMDeploy's pose trackers do).

    After each frame, :meth:`update` keeps one box per pose that has at least ``min_keypoints``
    keypoints scoring above ``kpt_thr``: their extent grown by ``pad`` a side (the same rule that
    turns the detector's poses into boxes), at least ``min_size`` pixels a side. :meth:`boxes`
    gives those boxes for the next frame, or None when the detector must run: every ``every``-th
    frame counted from the last detection, and whenever no pose was confident enough to carry
    (someone lost, or nobody there yet).
    """

    def __init__(self, every: int, kpt_thr: float = 0.3, min_keypoints: int = 3, pad: float = 0.1,
                 min_size: float = 8.0) -> None:  # fmt: skip
        if every < 1:
            raise ValueError(f"the detector interval must be >= 1 frame, got {every}")
        self.every, self.kpt_thr, self.min_keypoints = int(every), kpt_thr, min_keypoints
        self.pad, self.min_size = pad, min_size
        self.carried: tuple[np.ndarray, np.ndarray] | None = None
        self.since_detection = 0
        self.detections = 0  # how many frames the detector ran on

    def boxes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(boxes (M, 4) x, y, w, h, scores (M,)) for the next frame, or None: run the detector
        (counted in ``detections``)."""
        if self.carried is None or self.since_detection >= self.every - 1:
            self.since_detection = 0
            self.detections += 1
            return None
        self.since_detection += 1
        return self.carried

    def update(self, poses: Sequence[Pose], boxes: np.ndarray | None = None, scores: np.ndarray | None = None) -> None:
        """Take the boxes to carry from this frame's poses. ``boxes`` / ``scores``: the person boxes
        the frame's poses were estimated in and their scores (detector or carried); each carried box
        keeps the score of the box its pose came from (the best-overlapping one), so that pose scores
        (keypoint score times box score) do not shrink frame after frame. Without them a carried box
        scores 1."""
        keep = [p for p in poses if int((np.asarray(p.keypoints)[:, 2] > self.kpt_thr).sum()) >= self.min_keypoints]
        if not keep:
            self.carried = None
            return
        new = np.array([box_from_keypoints(p.keypoints, self.kpt_thr, self.pad) for p in keep], np.float64)
        if boxes is not None and scores is not None and len(boxes):
            own = np.array([p.box for p in keep], np.float64)
            carried_scores = np.asarray(scores, np.float64)[box_iou(own, boxes).argmax(1)]
        else:
            carried_scores = np.ones(len(keep))
        big = (new[:, 2] >= self.min_size) & (new[:, 3] >= self.min_size)
        self.carried = (new[big], carried_scores[big]) if big.any() else None

    def reset(self) -> None:
        self.carried, self.since_detection = None, 0
