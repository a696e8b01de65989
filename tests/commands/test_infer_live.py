"""``featherpose infer`` for daily use, through the real CLI: cameras and streams, globs, results that
survive a kill, H.264 video, the detector every N frames, per-frame boxes, drawing options."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from featherpose.cli import main
from featherpose.video import fourcc_of, h264_available, video_info

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
PERSON = "val2017/000000109313.jpg"  # one large person (480x640)
FAST = ["infer", "--backend", "torch", "--model", "mobileposenet", "--input-size", "64x48", "--nms", "none"]

pytestmark = pytest.mark.usefixtures("one_thread")


def person_video(coco_mini: Path, path: Path, frames: int, size: tuple[int, int] = (120, 160)) -> Path:
    """A slow vertical pan over a real COCO photo of one person (MJPG, 10 fps)."""
    image = cv2.imread(str(coco_mini / PERSON))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    for i in range(frames):
        top = (2 * i) % 40
        writer.write(cv2.resize(image[top : top + 600], size, interpolation=cv2.INTER_AREA))
    writer.release()
    return path


def frame_boxes(path: Path, video: str, frames: list[int], box: list[float]) -> Path:
    path.write_text(json.dumps([{"frame": i, "file_name": video, "bbox": box, "score": 0.9} for i in frames]))
    return path


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]


def console(*args: str, **kw: object) -> subprocess.Popen:
    exe = REPO / ".venv" / "bin" / "featherpose"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "featherpose.cli"]
    return subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, **kw)


def test_camera_that_does_not_exist_is_one_line():
    proc = console("infer", "--backend", "torch", "99")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip().splitlines() == ["featherpose infer: error: camera 99: cannot be opened (no such camera, or "
                                        "it is busy)"]  # fmt: skip


def test_bad_camera_in_a_batch_is_listed(coco_mini, tmp_path, capfd):
    video = person_video(coco_mini, tmp_path / "walk.avi", 2)
    rc = main([*FAST, "--out", str(tmp_path / "out"), str(video), "98", "rtsp://127.0.0.1:9/cam"])
    err = capfd.readouterr().err
    assert rc == 0
    assert "skipped 2 inputs:" in err
    assert "  camera 98: cannot be opened (no such camera, or it is busy)" in err.splitlines()
    assert any(ln.startswith("  rtsp://127.0.0.1:9/cam: cannot be opened") for ln in err.splitlines())
    assert len(records(tmp_path / "out")) == 2


def test_stream_url_queue_policy_and_frame_limit(coco_mini, tmp_path, capfd):
    """A stream (a video file opened through its file:// URL, as OpenCV opens rtsp:// or http://):
    --live-policy queue processes every frame in order, --max-frames stops it."""
    video = person_video(coco_mini, tmp_path / "cam.avi", 20)
    url = video.resolve().as_uri()
    boxes = frame_boxes(tmp_path / "det.json", "cam.avi", list(range(20)), [10, 10, 100, 140])
    out = tmp_path / "out"
    rc = main([*FAST, "--boxes", str(boxes), "--live-policy", "queue", "--max-frames", "6", "--out", str(out), url])
    err = capfd.readouterr().err
    assert rc == 0, err
    got = records(out)
    assert [r["frame"] for r in got] == list(range(6)) and all(r["source"] == url for r in got)
    assert all(len(r["poses"]) == 1 and r["poses"][0]["bbox"] == [10, 10, 100, 140] for r in got)
    assert f"{url}: 6 frames processed" in err
    written = next(out.glob("*.mp4"))
    assert video_info(written).frames == 6


def test_video_is_h264_and_show_without_display_says_so_once(coco_mini, tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    a, b = person_video(coco_mini, tmp_path / "a.avi", 3), person_video(coco_mini, tmp_path / "b.avi", 3)
    boxes = frame_boxes(tmp_path / "det.json", "a.avi", [0, 1, 2], [10, 10, 100, 140])
    rc = main([*FAST, "--boxes", str(boxes), "--show", "--out", str(tmp_path / "out"), str(a), str(b)])
    err = capfd.readouterr().err
    assert rc == 0, err
    notes = [ln for ln in err.splitlines() if ln.startswith("note: --show")]
    assert notes == ["note: --show: no window, no display (DISPLAY is not set); carrying on without one"]
    tag = fourcc_of(tmp_path / "out" / "a.mp4")
    if h264_available():
        assert tag.lower() in ("avc1", "h264")
    else:
        assert tag in ("FMP4", "mp4v") and "mp4v" in err


def test_boxes_for_video_frames(coco_mini, tmp_path, capfd):
    """--boxes for a video: entries keyed by `frame` (and `file_name`); frames it lists have one
    pose per box, the others nobody."""
    video = person_video(coco_mini, tmp_path / "walk.avi", 4)
    det = tmp_path / "det.json"
    det.write_text(json.dumps([
        {"frame": 0, "file_name": "walk.avi", "bbox": [10, 10, 100, 140], "score": 0.9},
        {"frame": 2, "file_name": "walk.avi", "bbox": [10, 10, 100, 140], "score": 0.9},
        {"frame": 2, "file_name": "walk.avi", "bbox": [0, 0, 40, 60], "score": 0.5},
        {"frame": 1, "file_name": "another.avi", "bbox": [10, 10, 100, 140], "score": 0.9},
    ]))  # fmt: skip
    out = tmp_path / "out"
    assert main([*FAST, "--boxes", str(det), "--no-render", "--out", str(out), str(video)]) == 0
    assert [len(r["poses"]) for r in records(out)] == [1, 0, 2, 0]
    preds = json.loads((out / "predictions.json").read_text())
    assert sorted(p["bbox"] for p in preds if p["frame"] == 2) == [[0, 0, 40, 60], [10, 10, 100, 140]]


def test_detector_every_n_frames_with_tracking(coco_mini, tmp_path, capfd):
    """Top-down with the shipped detector every 4 frames: 2 detector runs for 8 frames, the person
    found on every frame (boxes carried from the previous pose), one track id throughout."""
    video = person_video(coco_mini, tmp_path / "walk.avi", 8, size=(240, 320))
    out = tmp_path / "out"
    rc = main(["infer", "--backend", "torch", "--model", "mobileposenet", "--det-every", "4", "--track",
               "--no-render", "--out", str(out), str(video)])  # fmt: skip
    err = capfd.readouterr().err
    assert rc == 0, err
    assert f"{video}: person detector ran on 2 frames (--det-every 4)" in err
    got = records(out)
    best = [max(r["poses"], key=lambda p: p["score"]) for r in got]
    assert len(best) == 8 and {p["track_id"] for p in best} == {1}
    assert all(sum(s > 0.3 for s in p["keypoints"][2::3]) >= 10 for p in best)
    carried = [p["score"] for p in best[1:4]]  # pose score does not decay while the box is carried
    assert min(carried) > 0.5 * best[0]["score"]


def test_globs_recursive_folders_and_drawing_options(coco_mini, tmp_path, capfd):
    root = tmp_path / "shots"
    (root / "day1").mkdir(parents=True)
    image = cv2.imread(str(coco_mini / PERSON))
    cv2.imwrite(str(root / "day1" / "a.jpg"), image)
    cv2.imwrite(str(root / "b.jpg"), image)
    out = tmp_path / "out"
    assert main([*FAST, "--out", str(out), str(root / "**" / "*.jpg")]) == 0
    assert sorted(r["source"] for r in records(out)) == [str(root / "b.jpg"), str(root / "day1" / "a.jpg")]
    assert main([*FAST, "--out", str(out), str(root)]) == 0
    assert len(records(out)) == 1  # the folder alone: not its sub-folders
    assert main([*FAST, "--out", str(out), "--recursive", str(root)]) == 0
    assert len(records(out)) == 2
    plain = cv2.imread(str(out / "a.jpg"))
    assert main([*FAST, "--out", str(out), "--colors", "person", "--thickness", "4", "--show-boxes",
                 "--draw-thr", "0", str(root / "day1" / "a.jpg")]) == 0  # fmt: skip
    styled = cv2.imread(str(out / "a.jpg"))
    assert plain.shape == styled.shape and (plain != styled).any()
    capfd.readouterr()
    assert main([*FAST, "--thickness", "0", str(root / "b.jpg")]) == 2
    assert capfd.readouterr().err.strip() == "featherpose infer: error: drawing: thickness must be >= 1, got 0"


def test_option_errors_are_one_line(tmp_path, capfd):
    for argv, line in [
        (["infer"], "give at least one SOURCE"),
        (["infer", "--det-every", "0", "x.avi"], "--det-every: must be >= 1 frame, got 0"),
        (["infer", "--rebuild", str(tmp_path)], f"{tmp_path / 'predictions.jsonl'}: file not found"),
        (["infer", "--boxes", str(tmp_path / "no.json"), "0"], "no.json: file not found (--boxes)"),
    ]:
        assert main(argv) == 2
        err = capfd.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("featherpose infer: error: ") and line in err[0], err


def _run_until(proc: subprocess.Popen, jsonl: Path, lines: int, timeout: float = 120.0) -> None:
    """Wait until ``jsonl`` holds at least ``lines`` complete lines (the run is under way)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if jsonl.exists() and jsonl.read_text().count("\n") >= lines:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended early: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the run produced no results in time")


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")])
def test_killed_half_way_keeps_the_frames_done(coco_mini, tmp_path, sig, code, name):
    """A video run stopped half-way by SIGTERM / Ctrl-C: every frame done is in predictions.jsonl
    (and parses), predictions.json holds the same poses, the annotated video is playable."""
    n = 800
    video = person_video(coco_mini, tmp_path / "long.avi", n)
    boxes = frame_boxes(tmp_path / "det.json", "long.avi", list(range(n)), [10, 10, 100, 140])
    out = tmp_path / "out"
    proc = console(*FAST, "--boxes", str(boxes), "--out", str(out), str(video))
    _run_until(proc, out / "predictions.jsonl", 5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    note = [ln for ln in err.splitlines() if ln.startswith("interrupted")]
    assert len(note) == 1 and note[0].startswith(f"interrupted ({name}): ")
    got = records(out)
    done = len(got)
    assert 5 <= done < n and [r["frame"] for r in got] == list(range(done))
    assert all(len(r["poses"]) == 1 for r in got)
    preds = json.loads((out / "predictions.json").read_text())
    assert preds == [p for r in got for p in r["poses"]]
    assert video_info(out / "long.mp4").frames == done  # the writer was closed: a playable file


def test_sigkill_then_rebuild(coco_mini, tmp_path):
    """A hard kill (no chance to clean up): the JSONL has the frames done; --rebuild makes
    predictions.json from it."""
    n = 800
    video = person_video(coco_mini, tmp_path / "long.avi", n)
    boxes = frame_boxes(tmp_path / "det.json", "long.avi", list(range(n)), [10, 10, 100, 140])
    out = tmp_path / "out"
    proc = console(*FAST, "--boxes", str(boxes), "--no-render", "--out", str(out), str(video))
    _run_until(proc, out / "predictions.jsonl", 5)
    proc.kill()
    proc.communicate(timeout=60)
    assert not (out / "predictions.json").exists()
    text = (out / "predictions.jsonl").read_text()
    complete = text.count("\n")
    rebuilt = console("infer", "--rebuild", str(out))
    stdout, err = rebuilt.communicate(timeout=120)
    assert rebuilt.returncode == 0, err
    assert stdout.startswith(f"{complete} images / frames, {complete} poses -> {out / 'predictions.json'}")
    preds = json.loads((out / "predictions.json").read_text())
    assert [p["frame"] for p in preds] == list(range(complete))
