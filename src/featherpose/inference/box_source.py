"""``BoxSource``: the person boxes a top-down model crops, per image, in the frame of the decoded
(possibly reduced, :class:`~featherpose.io.LoadedImage`) pixels. In order of preference: the boxes
the caller gives, a COCO detection-results file (looked up by image id or file name), or the poses
of a bottom-up detector (``detect``: a decoded frame -> its poses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from featherpose.io import InputError, LoadedImage

from .boxes import as_boxes, image_id_from_name
from .pose import Pose, box_from_keypoints
from .timing import StageTimer

Boxes = tuple[np.ndarray, np.ndarray]  # (M, 4) x, y, w, h and (M,) scores
# Detector poses scoring under this are dropped before cropping: the shipped ghostpose splits people into
# low-scoring fragments (2.6 poses per LSPET val image, one person each); at 0.05 the default pipeline
# crops 1.5 boxes per image, ~30% less top-down time, and scores higher (PCK@0.2 0.463 -> 0.496, AP
# 0.273 -> 0.291 on 100 LSPET val images), the same on coco-mini val (AP 0.021 both). docs/benchmarks.md.
DETECTOR_MIN_SCORE = 0.05


@dataclass
class BoxSource:
    """``detections``: image id -> boxes (from :func:`featherpose.inference.load_detections`), or
    None; ``detect``: the detector, called (timed as ``detect``) only when neither given boxes nor
    ``detections`` apply. Detector poses scoring at most ``det_score_thr``, or under
    ``detector_min_score`` (:data:`DETECTOR_MIN_SCORE`), are dropped; a pose's box is its keypoints
    (score above ``kpt_thr``) grown by 10% a side."""

    detections: dict[int, Boxes] | None = None
    detect: Callable[[LoadedImage], list[Pose]] | None = None
    det_score_thr: float = 0.0
    kpt_thr: float = 0.1
    timer: StageTimer = field(default_factory=StageTimer)
    detector_min_score: float = DETECTOR_MIN_SCORE

    def __call__(self, frame: LoadedImage, image: object = None, given: object = None,
                 image_id: int | None = None) -> Boxes:  # fmt: skip
        """The boxes of one image: ``given`` ((M, 4) or (M, 5) in original pixels) when not None,
        else the detections file's for ``image_id`` (or the id in ``image``'s file name), else the
        detector's."""
        if given is not None:
            b, s = as_boxes(given, frame.source)
        elif self.detections is not None:
            if image_id is None and isinstance(image, str | Path):
                image_id = image_id_from_name(image)
            if image_id is None:
                raise InputError(frame.source, "no image id to look its boxes up in the boxes file (pass image_id)")
            b, s = self.detections.get(int(image_id), (np.zeros((0, 4)), np.zeros(0)))
        else:
            with self.timer.stage("detect"):
                return self.from_detector(frame)  # already in the decoded frame
        return to_decoded(b, frame), s

    def from_detector(self, frame: LoadedImage) -> Boxes:
        """Person boxes from the detector's poses; the whole image when it finds nobody."""
        if self.detect is None:
            raise ValueError("no person boxes: pass boxes, a boxes file or a detector")
        found = [p for p in self.detect(LoadedImage(frame.pixels, frame.source))
                 if p.score > self.det_score_thr and p.score >= self.detector_min_score]  # fmt: skip
        if not found:
            h, w = frame.pixels.shape[:2]
            return np.array([[0.0, 0.0, float(w), float(h)]]), np.ones(1)
        boxes = np.array([box_from_keypoints(p.keypoints, self.kpt_thr, pad=0.1) for p in found])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 1.0)
        return boxes, np.array([p.score for p in found])


def to_decoded(boxes: np.ndarray, frame: LoadedImage) -> np.ndarray:
    """Boxes in original image pixels -> the decoded (reduced) frame's pixels (a copy when moved)."""
    if not frame.reduced or not len(boxes):
        return boxes
    fx, fy = frame.scale
    b = boxes.copy()
    b[:, 0], b[:, 1] = (b[:, 0] + 0.5) / fx - 0.5, (b[:, 1] + 0.5) / fy - 0.5
    b[:, 2], b[:, 3] = b[:, 2] / fx, b[:, 3] / fy
    return b
