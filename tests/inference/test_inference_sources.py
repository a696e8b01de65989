"""Input sources: paths, folders, globs, cameras and URLs; the live reader's drop / queue policies."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from featherpose.inference.sources import LiveReader, Source, capture_fps, expand, open_capture
from featherpose.io import InputError
from featherpose.video import file_frames

IMAGES = ("000000000139.jpg", "000000109313.jpg", "000000397133.jpg")


def make_video(coco_mini: Path, path: Path, frames: int, size: tuple[int, int] = (96, 64)) -> Path:
    """A pan across a real COCO photo, MJPG, 10 fps; frame i has its index written in its top row."""
    image = cv2.imread(str(coco_mini / "val2017" / IMAGES[0]))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    for i in range(frames):
        writer.write(cv2.resize(image[:, 2 * i : 2 * i + 560], size, interpolation=cv2.INTER_AREA))
    writer.release()
    return path


@pytest.fixture
def tree(coco_mini: Path, tmp_path: Path) -> Path:
    """root/a.jpg, root/notes.txt, root/sub/b.jpg, root/sub/deeper/c.jpg, root/sub/clip.avi"""
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    for name, dst in zip(IMAGES, ("a.jpg", "sub/b.jpg", "sub/deeper/c.jpg"), strict=True):
        shutil.copy(coco_mini / "val2017" / name, root / dst)
    (root / "notes.txt").write_text("not an input")
    make_video(coco_mini, root / "sub" / "clip.avi", 3)
    return root


def test_folders_flat_and_recursive(tree):
    flat = expand([str(tree)])
    assert [(s.kind, Path(s.location).name) for s in flat.sources] == [("image", "a.jpg")]
    deep = expand([str(tree)], recursive=True)
    names = [(s.kind, Path(s.location).relative_to(tree).as_posix()) for s in deep.sources]
    assert names == [("image", "a.jpg"), ("image", "sub/b.jpg"), ("video", "sub/clip.avi"),
                     ("image", "sub/deeper/c.jpg")]  # fmt: skip
    empty = expand([str(tree / "sub" / "deeper" / "nothing")])
    assert empty.failures == [(str(tree / "sub" / "deeper" / "nothing"), "file not found")]


def test_globs_are_expanded_by_featherpose(tree):
    got = expand([str(tree / "**" / "*.jpg")])
    assert sorted(Path(s.location).name for s in got.sources) == ["a.jpg", "b.jpg", "c.jpg"]
    got = expand([str(tree / "sub" / "*.avi"), str(tree / "*.png")])
    assert [s.kind for s in got.sources] == ["video"]
    assert got.failures == [(str(tree / "*.png"), "no image or video matches this pattern")]


def test_cameras_urls_and_existing_files_win(tmp_path, monkeypatch):
    got = expand(["0", "12", "rtsp://127.0.0.1:8554/cam", "https://example.org/live.m3u8"])
    assert [(s.kind, s.location, s.live) for s in got.sources] == [
        ("camera", "0", True), ("camera", "12", True),
        ("stream", "rtsp://127.0.0.1:8554/cam", True), ("stream", "https://example.org/live.m3u8", True),
    ]  # fmt: skip
    assert got.sources[0].name == "camera 0" and got.sources[0].stem == "camera0"
    assert got.sources[2].stem == "127_0_0_1_8554_cam"
    monkeypatch.chdir(tmp_path)
    Path("0").write_bytes(b"")  # a file called 0 is a file, not camera 0
    assert expand(["0"]).sources == [Source("image", "0")]


def test_camera_that_does_not_exist_is_one_line(capfd):
    with pytest.raises(InputError) as exc:
        open_capture(Source("camera", "99"))
    assert str(exc.value) == "camera 99: cannot be opened (no such camera, or it is busy)"
    assert capfd.readouterr().err == ""  # OpenCV's and FFmpeg's own warnings are silenced


def test_unreachable_stream_is_one_line(capfd):
    url = "rtsp://127.0.0.1:9/nothing"  # the discard port on this machine: connection refused
    with pytest.raises(InputError, match=r"^rtsp://127.0.0.1:9/nothing: cannot be opened \(unreachable"):
        open_capture(Source("stream", url), timeout_ms=3000)
    assert capfd.readouterr().err == ""


def _stream(coco_mini: Path, tmp_path: Path, frames: int) -> Source:
    """A video file opened as a stream URL (``file://``): what OpenCV does for RTSP / HTTP."""
    path = make_video(coco_mini, tmp_path / "stream.avi", frames)
    return Source("stream", path.resolve().as_uri())


def test_live_reader_queue_keeps_every_frame_in_order(coco_mini, tmp_path):
    source = _stream(coco_mini, tmp_path, 30)
    cap = open_capture(source)
    assert capture_fps(cap) == 10.0
    reader = LiveReader(cap, "queue", max_queue=4)
    got = []
    for frame in reader:
        got.append(frame.index)
        time.sleep(0.005)  # a consumer slower than the decoder
    assert got == list(range(30)) and reader.dropped == 0


def test_live_reader_drop_keeps_only_the_newest(coco_mini, tmp_path):
    source = _stream(coco_mini, tmp_path, 60)
    reader = LiveReader(open_capture(source), "drop")
    got = []
    for frame in reader:
        got.append(frame.index)
        time.sleep(0.02)  # slow consumer: the reader keeps overwriting the single slot
    assert got == sorted(got) and got[-1] == 59  # in order, and the last frame is never lost
    assert reader.dropped > 0 and len(got) + reader.dropped == 60


def test_live_reader_limits(coco_mini, tmp_path):
    source = _stream(coco_mini, tmp_path, 40)
    reader = LiveReader(open_capture(source), "queue", max_frames=7)
    assert [f.index for f in reader] == list(range(7))
    assert not reader._thread.is_alive()  # stopped and released after the limit
    slow = LiveReader(open_capture(source), "queue", duration=0.3)
    times = []
    for f in slow:
        times.append(f.time)
        time.sleep(0.05)
    assert 1 <= len(times) <= 8 and max(times) < 0.5
    with pytest.raises(ValueError, match="policy"):
        LiveReader(open_capture(source), "sometimes")


def test_file_frames_limits(coco_mini, tmp_path):
    path = make_video(coco_mini, tmp_path / "clip.avi", 12)
    assert [f.index for f in file_frames(path)] == list(range(12))
    assert [f.index for f in file_frames(path, max_frames=5)] == list(range(5))
    frames = list(file_frames(path, duration=0.5))  # 10 fps: video time 0.0 .. 0.4
    assert [f.time for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert all(isinstance(f.pixels, np.ndarray) and f.pixels.shape == (64, 96, 3) for f in frames)
