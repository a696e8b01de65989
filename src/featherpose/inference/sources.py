"""Input sources of ``featherpose infer``: image files, folders, glob patterns, video files, camera
indices and stream URLs -> a list of :class:`Source`, and the frames of a live source read by a
background thread (:class:`LiveReader`: keep only the newest frame, or queue them all).

A raw input is, in this order: an existing path (a file, or a folder expanded to its images and
videos, recursively with ``recursive=True``); a URL (``scheme://...``: RTSP, HTTP(S), anything
OpenCV's ``VideoCapture`` opens); a camera index (digits only: ``0``, ``1``); a glob pattern
(``*``, ``?``, ``[``; ``**`` spans folders); else a missing file.
"""

from __future__ import annotations

import contextlib
import glob
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from featherpose.io import InputError
from featherpose.video import VIDEO_SUFFIXES

from .stream import Frame

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"})
KINDS = ("image", "video", "camera", "stream")
POLICIES = ("drop", "queue")
OPEN_TIMEOUT_MS = 10_000  # a stream that does not answer within this is "cannot be opened"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Source:
    """One input: ``kind`` (:data:`KINDS`) and ``location`` (a path, a URL, or a camera index as
    text). ``name`` is what messages and outputs call it (``camera0`` for camera 0)."""

    kind: str
    location: str

    @property
    def live(self) -> bool:
        """A camera or a stream: frames come in real time, there is no end to seek to."""
        return self.kind in ("camera", "stream")

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def name(self) -> str:
        if self.kind == "camera":
            return f"camera {self.location}"
        return self.location

    @property
    def stem(self) -> str:
        """A file-name stem for this source's outputs (``camera0``, ``stream``, the file's stem)."""
        if self.kind == "camera":
            return f"camera{self.location}"
        if self.kind == "stream":
            tail = re.sub(r"[^A-Za-z0-9_-]+", "_", self.location.split("://", 1)[1].split("?")[0]).strip("_")
            return tail[-40:] or "stream"
        return self.path.stem


def kind_of_path(path: Path) -> str | None:
    """``"image"`` / ``"video"`` by suffix, None for other files."""
    suffix = path.suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None


@dataclass
class Expanded:
    """The sources of a command line, in order, and the inputs that gave none (name, reason)."""

    sources: list[Source] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Source]:
        return [s for s in self.sources if s.kind in kinds]


def _folder(p: Path, recursive: bool) -> list[Path]:
    files = p.rglob("*") if recursive else p.iterdir()
    return sorted(f for f in files if f.is_file() and kind_of_path(f) is not None)


def expand(inputs: list[str], recursive: bool = False) -> Expanded:
    """Turn raw command-line inputs into sources (see the module docstring); folders are sorted,
    patterns expanded by featherpose (so quoting them works on every shell)."""
    out = Expanded()

    def add(p: Path) -> None:
        out.sources.append(Source(kind_of_path(p) or "image", str(p)))  # an odd suffix: try it as an image

    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            items = _folder(p, recursive)
            if not items:
                out.failures.append((raw, "folder holds no images or videos" + ("" if recursive else
                                     " (add --recursive for its sub-folders)")))  # fmt: skip
            for f in items:
                add(f)
        elif p.exists():
            add(p)
        elif _URL.match(raw):
            out.sources.append(Source("stream", raw))
        elif raw.isdigit():
            out.sources.append(Source("camera", str(int(raw))))
        elif _GLOB.search(raw):
            hits = sorted(Path(h) for h in glob.glob(os.path.expanduser(raw), recursive=True))
            hits = [h for h in hits if h.is_file() and kind_of_path(h) is not None]
            if not hits:
                out.failures.append((raw, "no image or video matches this pattern"))
            for h in hits:
                add(h)
        else:
            out.failures.append((raw, "file not found"))
    return out


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence OpenCV's and FFmpeg's own warnings (written straight to file descriptor 2) while a
    capture opens: the caller reports the failure in one line."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


def open_capture(source: Source, timeout_ms: int = OPEN_TIMEOUT_MS) -> cv2.VideoCapture:
    """An opened ``cv2.VideoCapture`` of a camera or stream; :class:`InputError` naming it when it
    cannot be opened."""
    if not source.live:
        raise ValueError(f"{source.name}: not a camera or stream")
    target: int | str = int(source.location) if source.kind == "camera" else source.location
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    with _quiet_stderr():
        cap = cv2.VideoCapture(target, cv2.CAP_ANY, params)
    if not cap.isOpened():
        cap.release()
        why = "no such camera, or it is busy" if source.kind == "camera" else "unreachable, or not a video stream"
        raise InputError(source.name, f"cannot be opened ({why})")
    return cap


def capture_fps(cap: cv2.VideoCapture, default: float = 25.0) -> float:
    """The frame rate a capture reports, else ``default``."""
    fps = cap.get(cv2.CAP_PROP_FPS)
    return float(fps) if fps and np.isfinite(fps) and 1.0 <= fps <= 240.0 else default


class LiveReader:
    """Read a live capture in a background thread.

    ``policy="drop"`` (real time): only the newest frame is kept; frames that arrive while the
    consumer is busy are dropped (counted in ``dropped``). ``policy="queue"``: every frame is kept,
    in order, up to ``max_queue`` frames (then the reader waits: the capture's own buffer, or the
    sender, holds the rest). ``read``: frames read from the capture, ``delivered``: frames handed
    out. Iterate to get :class:`Frame` objects; the iteration ends when the
    source ends or fails, after ``max_frames`` frames, after ``duration`` seconds, or on
    :meth:`stop`.
    """

    def __init__(self, cap: cv2.VideoCapture, policy: str = "drop", max_frames: int | None = None,
                 duration: float | None = None, max_queue: int = 256) -> None:  # fmt: skip
        if policy not in POLICIES:
            raise ValueError(f"live policy must be one of {POLICIES}, got {policy!r}")
        self.cap, self.policy = cap, policy
        self.max_frames, self.duration = max_frames, duration
        self.dropped = self.read = self.delivered = 0
        self._queue: queue.Queue = queue.Queue(maxsize=1 if policy == "drop" else max_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="featherpose-live-reader", daemon=True)
        self._start = 0.0

    _END = object()

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        index = 0
        try:
            while not self._stop.is_set():
                ok, pixels = self.cap.read()
                if not ok or pixels is None:
                    break
                frame = Frame(index, pixels, time.monotonic() - self._start)
                index += 1
                self.read += 1
                if self.policy == "drop":
                    with contextlib.suppress(queue.Empty):
                        self._queue.get_nowait()
                        self.dropped += 1
                    self._queue.put_nowait(frame)
                else:
                    self._put(frame)
        finally:
            self.cap.release()  # here, by the thread that reads: never while a read is in progress
            self._put(self._END)

    def __iter__(self) -> Iterator[Frame]:
        self._start = time.monotonic()
        self._thread.start()
        given = 0
        try:
            while self.max_frames is None or given < self.max_frames:
                if self.duration is not None and time.monotonic() - self._start >= self.duration:
                    break
                try:
                    item = self._queue.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is self._END:
                    break
                given += 1
                self.delivered = given
                yield item
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop reading; the reader thread releases the capture (at once, or when a read that is
        waiting on a stalled stream returns)."""
        self._stop.set()
        if self._thread.ident is None:  # never started
            self.cap.release()
            return
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()  # unblock a waiting reader
            self._thread.join(timeout=2.0)
