"""Poses over consecutive frames of one video or live source: person boxes for a top-down model
(per-frame boxes from a file, boxes carried from the previous frame between detector runs, or the
detector), the estimator, then tracking and smoothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from featherpose.io import InputError, LoadedImage
from featherpose.smoothing import PoseSmoother
from featherpose.tracking import BoxCarrier, PoseTracker

from .pose import Pose

Boxes = tuple[np.ndarray, np.ndarray]
NO_BOXES: Boxes = (np.zeros((0, 4)), np.zeros(0))


@dataclass
class Frame:
    """One frame: its index in the source (counting dropped ones), the pixels (BGR) and its time in
    seconds (video time for files, since the first frame for live sources)."""

    index: int
    pixels: np.ndarray
    time: float


@dataclass
class StreamOptions:
    """``track``: stable ``track_id``; ``smooth``: One-Euro per track and keypoint (tracks too);
    ``det_every``: top-down models run the person detector every N frames and carry the boxes of
    the previous frame's poses in between; ``frame_boxes``: frame index -> person boxes (a frame
    without an entry has nobody), instead of the detector; ``batch``: frames per network call when
    no frame depends on the one before."""

    track: bool = False
    smooth: bool = False
    det_every: int = 1
    frame_boxes: dict[int, Boxes] | None = None
    batch: int = 4


class FramePoses:
    """Call with a list of :class:`~featherpose.inference.sources.Frame` (consecutive, in order)
    -> their poses. ``tracker`` / ``smoother``: ready ones to use instead of the defaults (OKS
    tracking with the keypoint set's sigmas, box IoU without; One-Euro defaults)."""

    def __init__(self, estimator: object, options: StreamOptions | None = None,
                 tracker: PoseTracker | None = None, smoother: PoseSmoother | None = None) -> None:  # fmt: skip
        self.est, self.options = estimator, options or StreamOptions()
        opts = self.options
        ks = estimator.output_keypoint_set  # type: ignore[attr-defined]
        top_down = estimator.paradigm == "top-down"  # type: ignore[attr-defined]
        if opts.det_every < 1:
            raise ValueError(f"det_every must be >= 1, got {opts.det_every}")
        carry = top_down and opts.frame_boxes is None and opts.det_every > 1
        self.carrier = BoxCarrier(opts.det_every) if carry else None
        if (opts.track or opts.smooth) and tracker is None:
            tracker = PoseTracker("oks", sigmas=ks.sigmas) if ks.sigmas is not None else PoseTracker("iou")
        self.tracker = tracker
        self.smoother = smoother if smoother is not None else (PoseSmoother() if opts.smooth else None)
        self._last_t: float | None = None

    @property
    def batch(self) -> int:
        """Frames per call that can go through the network together (1 while boxes are carried)."""
        return 1 if self.carrier is not None else max(1, self.options.batch)

    @property
    def detections(self) -> int | None:
        """Frames the person detector ran on so far (None when it runs on every frame or never)."""
        return None if self.carrier is None else self.carrier.detections

    def __call__(self, frames: list[Frame]) -> list[list[Pose]]:
        if self.carrier is not None:
            return [self._one(f) for f in frames]
        given = None
        if self.options.frame_boxes is not None:
            given = [np.column_stack(self.options.frame_boxes.get(f.index, NO_BOXES)) for f in frames]
        found = self.est.predict_batch([LoadedImage(f.pixels, f"frame {f.index}") for f in frames],  # type: ignore[attr-defined]
                                       boxes=given)  # fmt: skip
        return [self._after(f, poses) for f, poses in zip(frames, found, strict=True)]

    def _one(self, frame: Frame) -> list[Pose]:
        assert self.carrier is not None
        loaded = LoadedImage(frame.pixels, f"frame {frame.index}")
        boxes = self.carrier.boxes()
        if boxes is None:  # the detector's turn
            with self.est.timer.stage("detect"):  # type: ignore[attr-defined]
                boxes = self.est.box_source.from_detector(loaded)  # type: ignore[attr-defined]
        poses = self.est.predict_batch([loaded], boxes=[np.column_stack(boxes)])[0]  # type: ignore[attr-defined]
        poses = self._after(frame, poses)
        self.carrier.update(poses, *boxes)
        return poses

    def _after(self, frame: Frame, poses: list[Pose]) -> list[Pose]:
        if self.tracker is not None:
            poses = self.tracker.update(poses)
        if self.smoother is not None:
            t = frame.time if self._last_t is None else max(frame.time, self._last_t + 1e-6)
            self._last_t = t
            poses = self.smoother(poses, t)
        return poses


def run_frames(frames: Iterable[Frame], poses_of: FramePoses,
               sink: Callable[[Frame, list[Pose]], bool | None]) -> None:  # fmt: skip
    """Feed ``frames`` through ``poses_of`` (``poses_of.batch`` at a time) and hand every frame and
    its poses to ``sink`` as soon as they are known; stop when ``sink`` returns False."""
    chunk: list[Frame] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) >= poses_of.batch:
            if not _flush(chunk, poses_of, sink):
                return
    if chunk:
        _flush(chunk, poses_of, sink)


def _flush(chunk: list[Frame], poses_of: FramePoses, sink: Callable[[Frame, list[Pose]], bool | None]) -> bool:
    try:
        for frame, poses in zip(chunk, poses_of(chunk), strict=True):
            if sink(frame, poses) is False:
                return False
        return True
    finally:
        chunk.clear()


@contextlib.contextmanager
def without_detections(estimator: object) -> Iterator[None]:
    """Set aside the estimator's image detections file (keyed by image id) while video frames run."""
    saved = estimator.detections  # type: ignore[attr-defined]
    estimator.detections = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        estimator.detections = saved  # type: ignore[attr-defined]


def _read_detections(path: Path) -> list:
    from featherpose.data.coco import read_json

    data = read_json(path, lambda where, problem: InputError(where, f"boxes file: {problem}"))
    if not isinstance(data, list):
        raise InputError(path, "boxes file must hold a JSON list of COCO detection results")
    return data


def _group(path: Path, data: list, key: Callable[[dict], int | None], score_thr: float, need: str) -> dict[int, Boxes]:
    """Person detections grouped by ``key(entry)`` (None: skip the entry)."""
    groups: dict[int, list[list[float]]] = {}
    for i, det in enumerate(data):
        try:
            if int(det.get("category_id", 1)) != 1:
                continue
            k = key(det)
            if k is None:
                continue
            x, y, w, h = (float(v) for v in det["bbox"])
            score = float(det.get("score", 1.0))
        except (AttributeError, KeyError, TypeError, ValueError):
            problem = f"entry {i} is not a detection (needs {need} and a 4-number bbox)"
            raise InputError(path, problem) from None
        if score >= score_thr and w > 0 and h > 0:
            groups.setdefault(int(k), []).append([x, y, w, h, score])
    return {k: (np.asarray(v)[:, :4], np.asarray(v)[:, 4]) for k, v in groups.items()}


def load_frame_boxes(path: str | Path, video: str | Path, score_thr: float = 0.0) -> dict[int, Boxes]:
    """Person boxes per frame of ``video`` from a COCO detection-results JSON (a list of
    ``{bbox: [x, y, w, h], score, category_id}``). The frame is the entry's ``frame`` field (index
    from 0) when the file has any, and then an entry that also names a ``file_name`` applies only to
    the video of that name (what ``featherpose infer`` writes in ``predictions.json``, so its boxes
    can feed another run); in a file without ``frame`` fields, ``image_id`` is the frame index.
    Entries of another ``category_id`` than 1 (person) and scores under ``score_thr`` are skipped.
    :class:`~featherpose.io.InputError` naming the file when it is malformed."""
    p, name = Path(path), Path(video).name
    data = _read_detections(p)
    if not any(isinstance(d, dict) and "frame" in d for d in data):
        return _group(p, data, lambda d: d["image_id"], score_thr, "image_id")

    def frame_of(d: dict) -> int | None:
        if "frame" not in d or ("file_name" in d and Path(str(d["file_name"])).name != name):
            return None
        return d["frame"]

    return _group(p, data, frame_of, score_thr, "frame or image_id")


def load_image_boxes(path: str | Path, score_thr: float = 0.0) -> dict[int, Boxes]:
    """Person boxes per image id from a COCO detection-results JSON, leaving out the entries of
    video frames (those with a ``frame`` field), so one file can hold both."""
    p = Path(path)
    return _group(p, _read_detections(p), lambda d: None if "frame" in d else d["image_id"], score_thr, "image_id")
