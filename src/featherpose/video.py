"""Video in and out with OpenCV, and pose estimation over a whole video (optionally tracked and
smoothed), written as an annotated video."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from featherpose.inference.pose import Pose
from featherpose.io import InputError, LoadedImage
from featherpose.smoothing import PoseSmoother
from featherpose.tracking import PoseTracker

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
FOURCC = {".avi": "MJPG"}  # everything else: mp4v


def is_video(path: str | Path) -> bool:
    """Whether a path names a video file (by its suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """Frame rate, frame size and (container-reported, possibly 0) frame count of a video."""

    fps: float
    width: int
    height: int
    frames: int


def video_info(path: str | Path) -> VideoInfo:
    """Open a video and read its properties; :class:`~featherpose.io.InputError` when it cannot be
    opened or has no decodable frame."""
    cap = _open(path)
    try:
        ok, frame = cap.read()
        if not ok or frame is None:
            raise InputError(path, "no decodable video frame (corrupt or not a video)")
        fps = cap.get(cv2.CAP_PROP_FPS)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        return VideoInfo(fps if fps and np.isfinite(fps) and fps > 0 else 25.0, frame.shape[1], frame.shape[0],
                         max(frames, 0))  # fmt: skip
    finally:
        cap.release()


def _open(path: str | Path) -> cv2.VideoCapture:
    p = Path(path)
    if p.is_dir():
        raise InputError(p, "is a directory, not a video")
    if not p.exists():
        raise InputError(p, "file not found")
    if p.stat().st_size == 0:
        raise InputError(p, "empty file (0 bytes)")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        cap.release()
        raise InputError(p, "cannot be opened as a video (unsupported or corrupt)")
    return cap


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of a video as (H, W, 3) uint8 BGR arrays."""
    cap = _open(path)
    try:
        count = 0
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            count += 1
            yield frame
        if count == 0:
            raise InputError(path, "no decodable video frame (corrupt or not a video)")
    finally:
        cap.release()


def open_writer(path: str | Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """A ``cv2.VideoWriter`` for (width, height) frames: MJPG for ``.avi``, mp4v otherwise."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(p.suffix.lower(), "mp4v"))
    writer = cv2.VideoWriter(str(p), fourcc, float(fps), (int(size[0]), int(size[1])))
    if not writer.isOpened():
        raise OSError(f"{p}: cannot be written as a video")
    return writer


def estimate_video(
    estimator: object,
    src: str | Path,
    dst: str | Path | None = None,
    track: bool = False,
    smooth: bool = False,
    batch: int = 4,
    progress: bool = True,
    render: Callable[[np.ndarray, list[Pose]], np.ndarray] | None = None,
    tracker: PoseTracker | None = None,
    smoother: PoseSmoother | None = None,
) -> list[list[Pose]]:
    """Run a :class:`~featherpose.inference.PoseEstimator` on every frame of ``src``; return the
    poses per frame and, with ``dst``, write the annotated video (``render(frame, poses)``, default
    :func:`featherpose.viz.draw_poses`). ``track`` gives poses stable ``track_id`` (OKS-Hungarian
    :class:`~featherpose.tracking.PoseTracker`); ``smooth`` applies a One-Euro filter per track and
    keypoint (it needs identities, so it tracks too). Frames go through the network ``batch`` at a
    time."""
    from featherpose.viz import draw_poses

    info = video_info(src)
    ks = estimator.output_keypoint_set  # type: ignore[attr-defined]
    if (track or smooth) and tracker is None:
        tracker = PoseTracker("oks", sigmas=ks.sigmas) if ks.sigmas is not None else PoseTracker("iou")
    if smooth and smoother is None:
        smoother = PoseSmoother()
    render = render or (lambda frame, poses: draw_poses(frame, poses, ks))
    writer = open_writer(dst, info.fps, (info.width, info.height)) if dst is not None else None
    results: list[list[Pose]] = []
    bar = tqdm(total=info.frames or None, desc=Path(src).name, unit="frame", disable=not progress, leave=False)
    try:
        chunk: list[np.ndarray] = []

        def flush() -> None:
            loaded = [LoadedImage(f, f"{src}#{len(results) + i}") for i, f in enumerate(chunk)]
            for frame, poses in zip(chunk, estimator.predict_batch(loaded), strict=True):  # type: ignore[attr-defined]
                if tracker is not None:
                    poses = tracker.update(poses)
                if smoother is not None:
                    poses = smoother(poses, len(results) / info.fps)
                results.append(poses)
                if writer is not None:
                    out = render(frame, poses)
                    if out.shape[:2] != (info.height, info.width):
                        out = cv2.resize(out, (info.width, info.height))
                    writer.write(out)
            bar.update(len(chunk))
            chunk.clear()

        for frame in read_frames(src):
            chunk.append(frame)
            if len(chunk) >= batch:
                flush()
        if chunk:
            flush()
    finally:
        bar.close()
        if writer is not None:
            writer.release()
    return results
