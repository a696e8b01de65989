"""``PoseFilter``: decoded keypoints -> the poses returned. Top-down: pose score (keypoint and box
scores), pose NMS (parallel OKS-NMS, greedy OKS-NMS, soft OKS-NMS or none) and the minimum score;
bottom-up: the minimum score and the OpenPose-18 -> COCO-17 conversion. Both map the poses from the
decoded (possibly reduced) frame back to original image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from featherpose.io import LoadedImage
from featherpose.nms import oks_nms, parallel_oks_nms, pose_score, soft_oks_nms
from featherpose.skeletons import KeypointSet, openpose_to_coco

from .maps import inverse
from .pose import Pose, box_from_keypoints

NMS_METHODS = ("parallel", "oks", "soft", "none")


@dataclass(frozen=True)
class NmsOptions:
    """Top-down pose NMS: ``method`` one of :data:`NMS_METHODS`; ``threshold``: the OKS above which
    a pose is suppressed (``parallel`` / ``oks``; None: 0.9)."""

    method: str = "parallel"
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.method not in NMS_METHODS:
            raise ValueError(f"nms must be one of {NMS_METHODS}, got {self.method!r}")


def apply_affine(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(..., 2) points through a 2x3 affine."""
    return points @ np.asarray(m)[:, :2].T + np.asarray(m)[:, 2]


def to_original(kps: np.ndarray, boxes: np.ndarray, frame: LoadedImage) -> None:
    """In place: decoded-frame keypoints (..., 2+) / boxes (M, 4) -> original image pixels."""
    if not frame.reduced:
        return
    fx, fy = frame.scale
    kps[..., 0], kps[..., 1] = (kps[..., 0] + 0.5) * fx - 0.5, (kps[..., 1] + 0.5) * fy - 0.5
    boxes[:, 0], boxes[:, 1] = (boxes[:, 0] + 0.5) * fx - 0.5, (boxes[:, 1] + 0.5) * fy - 0.5
    boxes[:, 2], boxes[:, 3] = boxes[:, 2] * fx, boxes[:, 3] * fy


@dataclass(frozen=True)
class PoseFilter:
    """``keypoint_set``: the model's (its OKS sigmas; without sigmas there is no NMS); ``kpt_thr``:
    the keypoint score a keypoint counts from in the pose score; ``min_score``: poses below it are
    dropped."""

    keypoint_set: KeypointSet
    nms: NmsOptions = field(default_factory=NmsOptions)
    kpt_thr: float = 0.1
    min_score: float = 0.0

    def topdown(self, xy: np.ndarray, scores: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray,
                frame: LoadedImage) -> list[Pose]:  # fmt: skip
        """One image's decoded crops ((P, K, 2) keypoints in the decoded frame, (P, K) scores), their
        boxes and box scores -> the kept poses, best first, in original pixels."""
        kps = np.concatenate([xy, scores[..., None]], -1).astype(np.float32)
        keep, conf = self.suppress(kps, scores, box_scores, boxes[:, 2] * boxes[:, 3])
        kps, boxes = kps[keep], boxes[keep].copy()
        to_original(kps, boxes, frame)
        return [Pose(kps[i], float(conf[i]), tuple(float(v) for v in boxes[i])) for i in range(len(keep))]

    def suppress(self, kps: np.ndarray, scores: np.ndarray, box_scores: np.ndarray,
                 areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(P, K, 3) poses (``scores``: their (P, K) keypoint scores), box scores and box areas -> the
        indices kept (best first) and their pose scores (all >= ``min_score``)."""
        sigmas = self.keypoint_set.sigmas
        method, thr = (self.nms.method if sigmas is not None else "none"), self.nms.threshold or 0.9
        if method == "parallel":
            return parallel_oks_nms(kps, box_scores, areas, np.asarray(sigmas), self.kpt_thr, self.min_score,
                                    oks_thr=thr)  # fmt: skip
        conf_all = pose_score(scores, box_scores, self.kpt_thr)
        if method == "oks":
            keep = oks_nms(kps, conf_all, areas, np.asarray(sigmas), thr)
            conf = conf_all[keep]
        elif method == "soft":
            keep, conf = soft_oks_nms(kps, conf_all, areas, np.asarray(sigmas), score_thr=self.min_score)
        else:
            keep = np.argsort(-conf_all, kind="stable")
            conf = conf_all[keep]
        sel = conf >= self.min_score
        return keep[sel], conf[sel]

    def bottomup(self, found: object, matrix: np.ndarray, frame: LoadedImage) -> list[Pose]:
        """One image's grouped poses (``keypoints`` (P, K, 2) and ``keypoint_scores`` in the network
        input, ``scores`` (P,)) and its image-to-input affine -> poses, best first, in original
        pixels (OpenPose-18 -> COCO-17)."""
        kps = np.concatenate([found.keypoints, found.keypoint_scores[..., None]], -1).astype(np.float32)
        if len(kps):
            kps[..., :2] = apply_affine(kps[..., :2], inverse(matrix))
            kps[kps[..., 2] <= 0, :2] = 0.0
        if self.keypoint_set.name == "openpose18":
            kps = openpose_to_coco(kps).astype(np.float32)
        boxes = np.array([box_from_keypoints(k, 0.0) for k in kps]).reshape(-1, 4)
        to_original(kps, boxes, frame)
        order = np.argsort(-found.scores, kind="stable")
        return [Pose(kps[i], float(found.scores[i]), tuple(float(v) for v in boxes[i]))
                for i in order if found.scores[i] >= self.min_score]  # fmt: skip
