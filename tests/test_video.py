"""Video in / out, and pose estimation over a video with tracking and smoothing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from featherpose.codecs import MultiPersonPoses
from featherpose.inference import PoseEstimator
from featherpose.io import InputError
from featherpose.video import estimate_video, is_video, read_frames, video_info

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
