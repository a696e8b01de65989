"""Video in and out with OpenCV, and pose estimation over a whole video (optionally tracked and
smoothed), written as an annotated video."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from featherpose.inference.pose import Pose
from featherpose.inference.stream import Frame
from featherpose.io import InputError
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


def file_frames(path: str | Path, max_frames: int | None = None, duration: float | None = None) -> Iterator[Frame]:
    """The frames of a video file in order (none dropped), up to ``max_frames`` frames or
    ``duration`` seconds of video time."""
    fps = video_info(path).fps
    frames = read_frames(path)
    try:
        for index, pixels in enumerate(frames):
            if (max_frames is not None and index >= max_frames) or (duration is not None and index / fps >= duration):
                return
            yield Frame(index, pixels, index / fps)
    finally:
        frames.close()  # release the capture now, not at garbage collection


H264_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv"})
H264_HINT = "pip install 'featherpose[video]' (PyAV) for H.264 video that browsers play"


def h264_available() -> bool:
    """Whether PyAV (the ``video`` extra, FFmpeg with libx264 inside its wheel) is installed."""
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


class H264Writer:
    """Write BGR frames as H.264 (yuv420p, ``+faststart``: the index first, so a browser starts
    playing before the download ends) with PyAV. Odd frame sizes are padded by one black pixel
    (4:2:0 needs even sides). ``crf``: x264's quality (23 default; lower = better, larger)."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], crf: int = 23,
                 preset: str = "veryfast") -> None:  # fmt: skip
        from fractions import Fraction

        import av

        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.pad = (self.size[0] % 2, self.size[1] % 2)
        try:
            self._container = av.open(str(self.path), "w", options={"movflags": "+faststart"})
        except (OSError, av.FFmpegError) as exc:
            raise OSError(f"{self.path}: cannot be written as a video ({exc})") from None
        codec = "libx264" if "libx264" in av.codecs_available else "h264"
        self._stream = self._container.add_stream(codec, rate=Fraction(float(fps)).limit_denominator(1001))
        self._stream.width, self._stream.height = self.size[0] + self.pad[0], self.size[1] + self.pad[1]
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": preset} if codec == "libx264" else {}
        self._frame_type = av.VideoFrame
        self.frames = 0

    def isOpened(self) -> bool:  # noqa: N802 (the cv2.VideoWriter interface)
        return self._container is not None

    def write(self, frame: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 BGR frame."""
        if self._container is None:
            raise OSError(f"{self.path}: the writer is closed")
        if any(self.pad):
            frame = cv2.copyMakeBorder(frame, 0, self.pad[1], 0, self.pad[0], cv2.BORDER_CONSTANT, value=0)
        packet_frame = self._frame_type.from_ndarray(np.ascontiguousarray(frame), format="bgr24")
        self._container.mux(self._stream.encode(packet_frame))
        self.frames += 1

    def release(self) -> None:
        """Flush the encoder and finish the file (a playable MP4 with the frames written so far)."""
        if self._container is None:
            return
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
            self._container = None


def open_writer(path: str | Path, fps: float, size: tuple[int, int]) -> H264Writer | cv2.VideoWriter:
    """A video writer for (width, height) BGR frames (``write(frame)``, ``release()``): H.264 with
    PyAV for ``.mp4 .m4v .mov .mkv`` when PyAV is installed (:func:`h264_available`), else OpenCV's
    ``mp4v``; MJPG for ``.avi``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() in H264_SUFFIXES and h264_available():
        return H264Writer(p, fps, size)
    fourcc = cv2.VideoWriter_fourcc(*FOURCC.get(p.suffix.lower(), "mp4v"))
    writer = cv2.VideoWriter(str(p), fourcc, float(fps), (int(size[0]), int(size[1])))
    if not writer.isOpened():
        raise OSError(f"{p}: cannot be written as a video")
    return writer


def fourcc_of(path: str | Path) -> str:
    """The codec tag OpenCV reports for a video file (``h264``, ``avc1``, ``FMP4``, ``MJPG``...; "" when
    it cannot be opened)."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return ""
        code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
        return code.to_bytes(4, "little").decode("latin-1").strip("\x00")
    finally:
        cap.release()


class Window:
    """A live OpenCV window for ``--show``. :attr:`available` is False (and :attr:`reason` says why)
    where none can open: no display (``DISPLAY`` / ``WAYLAND_DISPLAY`` unset on Linux) or an
    OpenCV built without a GUI (``opencv-python-headless``)."""

    def __init__(self, title: str = "featherpose") -> None:
        import os
        import sys

        self.title, self.reason = title, ""
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            self.reason = "no display (DISPLAY is not set)"
        else:
            try:
                cv2.namedWindow(title, cv2.WINDOW_NORMAL)
            except cv2.error:
                self.reason = "this OpenCV has no GUI (opencv-python-headless); pip install opencv-python"
        self.available = not self.reason

    def show(self, frame: np.ndarray) -> bool:
        """Show a frame; False when the user closed the window or pressed q / Esc."""
        if not self.available:
            return True
        cv2.imshow(self.title, frame)
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        return key not in (ord("q"), 27) and not closed

    def close(self) -> None:
        if self.available:
            with contextlib.suppress(cv2.error):
                cv2.destroyWindow(self.title)


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
    det_every: int = 1,
    frame_boxes: dict | None = None,
    max_frames: int | None = None,
) -> list[list[Pose]]:
    """Run a :class:`~featherpose.inference.PoseEstimator` on every frame of ``src``; return the
    poses per frame and, with ``dst``, write the annotated video (``render(frame, poses)``, default
    :func:`featherpose.viz.draw_poses`; H.264 when PyAV is installed, see :func:`open_writer`).
    ``track`` gives poses stable ``track_id`` (OKS-Hungarian
    :class:`~featherpose.tracking.PoseTracker`); ``smooth`` applies a One-Euro filter per track and
    keypoint (it needs identities, so it tracks too). Top-down models: ``det_every`` N runs the
    person detector every N frames and carries the previous frame's pose boxes in between
    (:class:`~featherpose.tracking.BoxCarrier`); ``frame_boxes`` (frame index -> boxes, from
    :func:`featherpose.inference.stream.load_frame_boxes`) replaces the detector. Frames go through
    the network ``batch`` at a time when no frame depends on the previous one."""
    from featherpose.inference.stream import FramePoses, StreamOptions, run_frames, without_detections
    from featherpose.viz import draw_poses

    info = video_info(src)
    ks = estimator.output_keypoint_set  # type: ignore[attr-defined]
    options = StreamOptions(track, smooth, det_every, frame_boxes, batch)
    poses_of = FramePoses(estimator, options, tracker, smoother)
    render = render or (lambda frame, poses: draw_poses(frame, poses, ks))
    writer = open_writer(dst, info.fps, (info.width, info.height)) if dst is not None else None
    results: list[list[Pose]] = []
    total = min(info.frames, max_frames) if max_frames is not None and info.frames else (info.frames or max_frames)
    bar = tqdm(total=total or None, desc=Path(src).name, unit="frame", disable=not progress, leave=False)

    def sink(frame: object, poses: list[Pose]) -> None:
        results.append(poses)
        if writer is not None:
            out = render(frame.pixels, poses)  # type: ignore[attr-defined]
            if out.shape[:2] != (info.height, info.width):
                out = cv2.resize(out, (info.width, info.height))
            writer.write(out)
        bar.update(1)

    try:
        with without_detections(estimator):  # an image detections file (by image id) is not for frames
            run_frames(file_frames(src, max_frames), poses_of, sink)
    finally:
        bar.close()
        if writer is not None:
            writer.release()
    return results
