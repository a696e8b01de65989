"""YOLO11n-pose (Ultralytics' COCO weights as ONNX, read from ``../shared/peers``) as a benchmark peer.

Benchmark-only: never imported by the package, never a dependency (the weights are AGPL-3.0). Written
here from the contract in ``../shared/README.md``, not from Ultralytics' code:

* input ``images`` 1x3x640x640, RGB, float 0-1, **letterboxed**: the image scaled by
  ``r = min(640 / h, 640 / w)`` (bilinear), centred, the border filled with 114;
* output ``output0`` 1x56x8400: per anchor (cx, cy, w, h) in input pixels, the person score, then
  17 x (x, y, score) in COCO-17 order (scores already through the sigmoid);
* post-processing: keep anchors scoring above ``conf`` (0.25 for display, 0.001 for COCO AP), greedy
  box NMS at IoU 0.7 (OpenCV's ``cv2.dnn.NMSBoxes``), at most ``max_det`` poses, then undo the
  letterbox.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

SIZE = 640
PAD = 114


def letterbox(image: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, float, tuple[float, float]]:
    """BGR uint8 (H, W, 3) -> (1, 3, size, size) RGB float 0-1, the scale ``r`` and the (left, top) pad."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    nw, nh = round(w * r), round(h * r)
    left, top = (size - nw) // 2, (size - nh) // 2
    canvas = np.full((size, size, 3), PAD, np.uint8)
    resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas[top : top + nh, left : left + nw] = resized
    x = cv2.dnn.blobFromImage(canvas, 1 / 255.0, swapRB=True)  # NCHW float32, BGR -> RGB
    return x, r, (float(left), float(top))


def decode(out: np.ndarray, conf: float, iou: float, max_det: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(56, A) raw output -> boxes (M, 4) x, y, w, h, scores (M,), keypoints (M, 17, 3), in input
    pixels, after the score threshold and box NMS (best first)."""
    scores = out[4]
    keep = np.flatnonzero(scores > conf)
    if not len(keep):
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 17, 3))
    cx, cy, w, h = out[:4, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, w, h], 1)
    s = scores[keep]
    picked = cv2.dnn.NMSBoxes(boxes.tolist(), s.tolist(), conf, iou, top_k=max_det)
    picked = np.asarray(picked, int).reshape(-1)[:max_det]
    kps = out[5:, keep[picked]].T.reshape(-1, 17, 3)
    return boxes[picked], s[picked], kps


@dataclass
class YoloPose:
    """``YoloPose(path, threads)(bgr_image) -> [(keypoints (17, 3) in image pixels, score)]``; the
    network's share of the last call in ``last_net_s``."""

    path: str | Path
    threads: int = 2
    conf: float = 0.001
    iou: float = 0.7
    max_det: int = 300
    last_net_s: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = int(self.threads), 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def network(self, x: np.ndarray) -> np.ndarray:
        """The raw (56, 8400) output for one letterboxed input."""
        return self.session.run(None, {self.input_name: x})[0][0]

    def __call__(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        x, r, (left, top) = letterbox(image)
        t0 = time.perf_counter()
        out = self.network(x)
        self.last_net_s = time.perf_counter() - t0
        _, scores, kps = decode(out, self.conf, self.iou, self.max_det)
        kps[..., 0] = (kps[..., 0] - left) / r
        kps[..., 1] = (kps[..., 1] - top) / r
        return [(k.astype(np.float32), float(s)) for k, s in zip(kps, scores, strict=True)]
