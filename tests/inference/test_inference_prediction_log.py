"""predictions.jsonl: a line per image / frame on disk as soon as it is done; predictions.json
rebuilt from it after a hard stop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from featherpose.inference import Pose
from featherpose.inference.prediction_log import JSON, JSONL, ResultLog, read_jsonl, rebuild


def _entries(image_id: int, n: int, frame: int | None = None) -> list[dict]:
    kp = np.tile(np.array([[10.0, 20.0, 0.9]], np.float32), (17, 1))
    extra = {"file_name": "walk.mp4", "frame": frame} if frame is not None else {"file_name": "a.jpg"}
    return [Pose(kp + i, 0.8, (1.0, 2.0, 30.0, 40.0), track_id=i + 1).to_coco(image_id, **extra) for i in range(n)]


def test_each_record_is_on_disk_before_the_next(tmp_path):
    log = ResultLog(tmp_path / "out")
    assert not (tmp_path / "out" / JSONL).exists()  # nothing done, nothing written
    log.add("a.jpg", 7, _entries(7, 2))
    # read by another handle while the log is still open: the line is already flushed
    first = json.loads((tmp_path / "out" / JSONL).read_text())
    assert first["source"] == "a.jpg" and first["image_id"] == 7 and len(first["poses"]) == 2
    log.add("walk.mp4", 8, _entries(8, 1, frame=0), frame=0, time=0.0)
    log.add("walk.mp4", 9, [], frame=1, time=0.04)
    lines = (tmp_path / "out" / JSONL).read_text().splitlines()
    assert [json.loads(ln).get("frame") for ln in lines] == [None, 0, 1]
    path = log.finish()
    assert path == tmp_path / "out" / JSON
    assert json.loads(path.read_text()) == _entries(7, 2) + _entries(8, 1, frame=0)
    with pytest.raises(ValueError, match="closed"):
        log.add("b.jpg", 10, [])


def test_rebuild_after_a_cut_last_line(tmp_path):
    log = ResultLog(tmp_path)
    for i in range(3):
        log.add("walk.mp4", i, _entries(i, 1, frame=i), frame=i, time=i / 25)
    log.close()  # killed: no predictions.json ...
    with open(tmp_path / JSONL, "a") as fh:
        fh.write('{"source": "walk.mp4", "image_id": 3, "fra')  # ... and a line cut mid-write
    assert not (tmp_path / JSON).exists()
    path, records, poses, bad = rebuild(tmp_path)
    assert (records, poses, bad) == (3, 3, 1)
    assert [p["frame"] for p in json.loads(path.read_text())] == [0, 1, 2]


def test_rebuild_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"predictions.jsonl: file not found"):
        rebuild(tmp_path)
    (tmp_path / JSONL).write_text("garbage\n{also garbage\n")
    with pytest.raises(ValueError, match=r"predictions.jsonl: no readable record \(2 broken lines\)"):
        read_jsonl(tmp_path / JSONL)
