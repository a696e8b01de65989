"""Video in / out, and pose estimation over a video with tracking and smoothing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from featherpose import video
from featherpose.codecs import MultiPersonPoses
from featherpose.inference import PoseEstimator
from featherpose.io import InputError
from featherpose.video import (
    H264Writer,
    Window,
    estimate_video,
    fourcc_of,
    h264_available,
    is_video,
    open_writer,
    read_frames,
    video_info,
)

IMAGE = "val2017/000000397133.jpg"
FRAMES, SIZE = 8, (160, 120)  # (width, height)


pytestmark = pytest.mark.usefixtures("one_thread")


def make_video(coco_mini: Path, path: Path) -> list[np.ndarray]:
    """A short pan across a real image, written with OpenCV's MJPG writer."""
    image = cv2.imread(str(coco_mini / IMAGE))
    frames = [cv2.resize(image[:, 6 * i : 6 * i + 560], SIZE, interpolation=cv2.INTER_AREA) for i in range(FRAMES)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, SIZE)
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return frames


def test_read_video(coco_mini, tmp_path):
    frames = make_video(coco_mini, tmp_path / "pan.avi")
    info = video_info(tmp_path / "pan.avi")
    assert (info.width, info.height, info.fps, info.frames) == (*SIZE, 10.0, FRAMES)
    got = list(read_frames(tmp_path / "pan.avi"))
    assert len(got) == FRAMES
    same, other = (np.abs(got[3].astype(int) - frames[i]).mean() for i in (3, 0))
    assert same < 8 and same < 0.6 * other  # MJPG is lossy, but it is frame 3
    assert is_video("a.MP4") and not is_video("a.jpg")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "file not found"), (b"", "empty file"), (b"this is not a video\n" * 50, "video")],
    ids=["missing", "empty", "text"],
)
def test_unreadable_video(tmp_path, content, problem):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=problem) as exc:
        video_info(path)
    assert "clip.mp4" in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(InputError):
        list(read_frames(path))


@pytest.mark.filterwarnings("ignore:.*random weights")
def test_estimate_video_tracks_and_smooths(coco_mini, tmp_path, ae_model_name="litepose_xs"):
    import featherpose.models as zoo

    if ae_model_name not in zoo.list_models():
        pytest.skip(f"{ae_model_name} is not registered yet")
    make_video(coco_mini, tmp_path / "pan.avi")
    est = PoseEstimator(ae_model_name, backend="torch", input_size=64)
    rng = np.random.default_rng(0)
    calls = []

    def decode(maps):  # a person walking right by 1 input px a frame, with 2 px jitter
        out = []
        for _ in range(len(maps["heatmaps"])):
            n = len(calls)
            calls.append(n)
            kp = np.stack([10 + n + np.arange(17) * 0.5, 10 + np.arange(17) * 2.0], -1) + rng.normal(0, 2, (17, 2))
            out.append(MultiPersonPoses(kp[None].astype(np.float32), np.full((1, 17), 0.9, np.float32),
                                        np.array([0.9], np.float32)))  # fmt: skip
        return out

    est.codec.decode = decode
    raw = estimate_video(est, tmp_path / "pan.avi", None, progress=False)
    calls.clear()
    rng = np.random.default_rng(0)
    out = tmp_path / "out" / "pan.mp4"
    smooth = estimate_video(est, tmp_path / "pan.avi", out, track=True, smooth=True, batch=3, progress=False)
    assert len(raw) == len(smooth) == FRAMES
    assert all(p.track_id is None for f in raw for p in f)
    assert [p.track_id for f in smooth for p in f] == [1] * FRAMES
    xr = np.array([f[0].keypoints[:, 0] for f in raw])
    xs = np.array([f[0].keypoints[:, 0] for f in smooth])
    np.testing.assert_allclose(xs[0], xr[0])  # the filter starts at the first measurement
    jitter = lambda x: np.abs(np.diff(x, 2, axis=0)).mean()  # noqa: E731
    assert jitter(xs) < 0.6 * jitter(xr)
    info = video_info(out)
    assert (info.width, info.height, info.frames) == (*SIZE, FRAMES)


def _clip(coco_mini: Path, size: tuple[int, int], n: int = 6) -> list[np.ndarray]:
    image = cv2.imread(str(coco_mini / IMAGE))
    return [cv2.resize(image[:, 8 * i : 8 * i + 560], size, interpolation=cv2.INTER_AREA) for i in range(n)]


def test_h264_output_plays_in_opencv(coco_mini, tmp_path):
    """The H.264 writer (PyAV): OpenCV reads it back as avc1 / h264, every frame, close to the input;
    an odd frame size is padded to even (4:2:0)."""
    if not h264_available():
        pytest.skip("PyAV is not installed (pip install 'featherpose[video]'): H.264 output falls back to mp4v")
    frames = _clip(coco_mini, (97, 65))
    writer = open_writer(tmp_path / "clip.mp4", 12.5, (97, 65))
    assert isinstance(writer, H264Writer)
    for f in frames:
        writer.write(f)
    writer.release()
    writer.release()  # twice is harmless
    assert fourcc_of(tmp_path / "clip.mp4").lower() in ("avc1", "h264")
    info = video_info(tmp_path / "clip.mp4")
    assert (info.width, info.height, info.frames, info.fps) == (98, 66, 6, 12.5)
    back = list(read_frames(tmp_path / "clip.mp4"))
    assert len(back) == 6
    same, other = (np.abs(back[4][:65, :97].astype(int) - frames[i]).mean() for i in (4, 0))
    assert same < 10 and same < 0.6 * other  # lossy (x264 crf 23 on a tiny frame), but it is frame 4
    data = (tmp_path / "clip.mp4").read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart: a browser can start before the end


def test_mp4v_fallback_without_pyav(coco_mini, tmp_path, monkeypatch):
    monkeypatch.setattr(video, "h264_available", lambda: False)
    writer = open_writer(tmp_path / "clip.mp4", 10.0, SIZE)
    assert isinstance(writer, cv2.VideoWriter)
    for f in _clip(coco_mini, SIZE, 3):
        writer.write(f)
    writer.release()
    assert fourcc_of(tmp_path / "clip.mp4") in ("FMP4", "mp4v")
    assert fourcc_of(tmp_path / "other.avi") == "" and not (tmp_path / "other.avi").exists()


def test_window_says_why_it_cannot_open(monkeypatch):
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the DISPLAY rule is Linux's")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    win = Window()
    assert not win.available and win.reason == "no display (DISPLAY is not set)"
    assert win.show(np.zeros((8, 8, 3), np.uint8))  # a no-op that never asks to stop
    if "GUI:                           NONE" in cv2.getBuildInformation():
        monkeypatch.setenv("DISPLAY", ":99")
        win = Window()
        assert not win.available and "no GUI" in win.reason
