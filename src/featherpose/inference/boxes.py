"""Person boxes for top-down models: user-given arrays and COCO detection-results files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from featherpose.data.coco import read_json
from featherpose.io import InputError

T = TypeVar("T", str, Path)

_COCO_NAME = re.compile(r"(?:COCO_[A-Za-z]+\d*_)?(\d+)")


def image_id_from_name(path: str | Path) -> int | None:
    """The image id of a COCO-like file name (``000000000139.jpg`` -> 139,
    ``COCO_val2014_000000000139.jpg`` -> 139, ``103319.jpg`` -> 103319), else None."""
    m = _COCO_NAME.fullmatch(Path(path).stem)
    return int(m.group(1)) if m else None


def assign_image_ids(names: Sequence[T], first: int = 0) -> dict[T, int]:
    """Image ids for files: COCO-like names keep their number (:func:`image_id_from_name`, when it is
    at least ``first`` and not taken by an earlier file), the others get running ids from ``first``
    that avoid those."""
    ids: dict[T, int] = {}
    taken: set[int] = set()
    for name in names:
        n = image_id_from_name(str(name))
        if n is not None and n >= first and n not in taken:
            ids[name] = n
            taken.add(n)
    running = first
    for name in names:
        if name not in ids:
            while running in taken:
                running += 1
            ids[name] = running
            taken.add(running)
    return ids


def as_boxes(boxes: object, source: object = "boxes") -> tuple[np.ndarray, np.ndarray]:
    """(M, 4) boxes (x, y, w, h) or (M, 5) with a score column (rows may mix both; a missing score
    is 1) -> (boxes (M, 4), scores (M,))."""
    if isinstance(boxes, list | tuple) and boxes and all(isinstance(b, list | tuple) for b in boxes):
        boxes = [list(b) + [1.0] if len(b) == 4 else list(b) for b in boxes]
    try:
        arr = np.asarray(boxes if boxes is not None else [], np.float64)
    except (TypeError, ValueError):
        raise InputError(source, "boxes must be (M, 4) [x, y, w, h] or (M, 5) with a score") from None
    if arr.size == 0:
        return np.zeros((0, 4)), np.zeros(0)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise InputError(source, f"boxes must be (M, 4) [x, y, w, h] or (M, 5) with a score, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr[:, 2:4] <= 0).any():
        raise InputError(source, "boxes need finite values and a positive width and height")
    scores = arr[:, 4] if arr.shape[1] == 5 else np.ones(len(arr))
    return arr[:, :4].copy(), scores.copy()


def load_detections(
    path: str | Path, score_thr: float = 0.0, category_id: int | None = 1
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Read a COCO detection-results JSON (a list of ``{image_id, category_id, bbox, score}``) ->
    ``{image_id: (boxes (M, 4), scores (M,))}``, keeping ``category_id`` (None: all) and
    ``score >= score_thr``. Raises :class:`~featherpose.io.InputError` on a malformed file."""
    p = Path(path)
    data = read_json(p, lambda where, problem: InputError(where, f"boxes file: {problem}"))
    if not isinstance(data, list):
        raise InputError(p, "boxes file must hold a JSON list of COCO detection results")
    per_image: dict[int, list[list[float]]] = {}
    for i, det in enumerate(data):
        try:
            if category_id is not None and int(det.get("category_id", 1)) != category_id:
                continue
            score = float(det.get("score", 1.0))
            x, y, w, h = (float(v) for v in det["bbox"])
            image_id = int(det["image_id"])
        except (AttributeError, KeyError, TypeError, ValueError):
            raise InputError(p, f"entry {i} is not a detection (needs image_id and a 4-number bbox)") from None
        if score >= score_thr and w > 0 and h > 0:
            per_image.setdefault(image_id, []).append([x, y, w, h, score])
    return {k: (np.asarray(v)[:, :4], np.asarray(v)[:, 4]) for k, v in per_image.items()}
