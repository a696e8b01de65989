"""Per-frame person boxes for videos, and the frame pipeline's use of them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from featherpose.inference.stream import Frame, FramePoses, StreamOptions, load_frame_boxes, run_frames
from featherpose.io import InputError


def _write(path, entries):
    path.write_text(json.dumps(entries))
    return path


def test_frame_field_and_file_name(tmp_path):
    det = _write(tmp_path / "det.json", [
        {"frame": 0, "bbox": [1, 2, 30, 40], "score": 0.9, "category_id": 1},
        {"frame": 0, "bbox": [50, 2, 30, 40], "score": 0.2, "file_name": "a/walk.mp4"},
        {"frame": 2, "bbox": [5, 5, 10, 10], "file_name": "other.mp4"},
        {"frame": 3, "bbox": [5, 5, 10, 10], "category_id": 2},  # not a person
        {"image_id": 4, "bbox": [5, 5, 10, 10]},  # the file has frame fields: no frame, no use
    ])  # fmt: skip
    walk = load_frame_boxes(det, "videos/walk.mp4")
    assert sorted(walk) == [0]
    np.testing.assert_allclose(walk[0][0], [[1, 2, 30, 40], [50, 2, 30, 40]])
    np.testing.assert_allclose(walk[0][1], [0.9, 0.2])
    assert sorted(load_frame_boxes(det, "other.mp4")) == [0, 2]
    assert sorted(load_frame_boxes(det, "walk.mp4", score_thr=0.5)) == [0]
    assert len(load_frame_boxes(det, "walk.mp4", score_thr=0.5)[0][0]) == 1


def test_image_id_is_the_frame_without_frame_fields(tmp_path):
    det = _write(tmp_path / "det.json", [{"image_id": 0, "bbox": [1, 2, 3, 4]}, {"image_id": 5, "bbox": [1, 2, 3, 4]}])
    assert sorted(load_frame_boxes(det, "any.avi")) == [0, 5]


@pytest.mark.parametrize(
    ("content", "problem"),
    [('{"frame": 0}', "JSON list"), ('[{"frame": 0, "bbox": [1, 2]}]', "entry 0 is not a detection"),
     ("[{", "not valid JSON")],
)  # fmt: skip
def test_bad_boxes_files(tmp_path, content, problem):
    path = tmp_path / "det.json"
    path.write_text(content)
    with pytest.raises(InputError, match=problem) as exc:
        load_frame_boxes(path, "walk.mp4")
    assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)


class _Recorder:
    """A stand-in top-down estimator that records the boxes it is given and returns one pose per box."""

    paradigm = "top-down"

    def __init__(self):
        from featherpose.skeletons import COCO17

        self.output_keypoint_set = COCO17
        self.calls = []

    def predict_batch(self, images, boxes=None):
        from featherpose.inference import Pose

        self.calls.append([None if b is None else np.asarray(b).copy() for b in boxes or [None] * len(images)])
        out = []
        for b in boxes:
            kp = np.zeros((17, 3), np.float32)
            out.append([Pose(kp, float(row[4]), tuple(row[:4])) for row in np.asarray(b).reshape(-1, 5)])
        return out


def test_frame_boxes_go_to_the_estimator_in_batches():
    est = _Recorder()
    boxes = {0: (np.array([[1.0, 2, 3, 4]]), np.array([0.7])), 2: (np.zeros((2, 4)) + 5, np.array([0.5, 0.4]))}
    poses_of = FramePoses(est, StreamOptions(frame_boxes=boxes, batch=2, det_every=5))
    assert poses_of.batch == 2 and poses_of.carrier is None  # boxes from the file: nothing carried
    frames = [Frame(i, np.zeros((8, 8, 3), np.uint8), i / 10) for i in range(3)]
    seen = []
    run_frames(frames, poses_of, lambda f, p: seen.append((f.index, [q.score for q in p])))
    assert seen == [(0, [0.7]), (1, []), (2, [0.5, 0.4])]
    assert [len(c) for c in est.calls] == [2, 1]
    assert est.calls[0][1].shape == (0, 5)  # a frame without an entry: no boxes, nobody


def test_sink_can_stop_the_run():
    est = _Recorder()
    poses_of = FramePoses(est, StreamOptions(frame_boxes={}, batch=1))
    frames = (Frame(i, np.zeros((8, 8, 3), np.uint8), i / 10) for i in range(10))
    seen = []
    run_frames(frames, poses_of, lambda f, p: seen.append(f.index) or f.index < 3)
    assert seen == [0, 1, 2, 3]
