"""MPII annotations in the common JSON form (``joints``, ``joints_vis``, ``center``, ``scale``, ``image``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from featherpose.data.coco import read_json
from featherpose.data.errors import AnnotationError
from featherpose.data.records import ImageRecord, PersonAnnotation
from featherpose.skeletons import MPII16, KeypointSet


class MpiiKeypoints:
    """A loaded MPII JSON: one :class:`ImageRecord` per annotated person.

    MPII stores a person centre and a ``scale`` with box side = ``scale * 200`` pixels. As in the
    HRNet/mmpose recipes the centre moves down by ``15 * scale`` pixels and the box grows by 1.25;
    with ``one_based=True`` (MATLAB-origin coordinates, the common export) 1 is subtracted from
    joints and centre.
    """

    def __init__(self, path: str | Path, keypoint_set: KeypointSet = MPII16, one_based: bool = True) -> None:
        self.path = Path(path)
        self.keypoint_set = keypoint_set
        data = read_json(self.path)
        if not isinstance(data, list):
            raise AnnotationError(self.path, "top level must be a list of person entries")
        self.images: list[ImageRecord] = [self._parse(i, e, one_based) for i, e in enumerate(data)]

    def _parse(self, i: int, entry: object, one_based: bool) -> ImageRecord:
        k = self.keypoint_set.num_keypoints
        where = f"entry {i}"
        if not isinstance(entry, dict):
            raise AnnotationError(self.path, f"{where} must be an object")
        missing = [f for f in ("joints", "joints_vis", "center", "scale", "image") if f not in entry]
        if missing:
            raise AnnotationError(self.path, f"{where} is missing {', '.join(repr(m) for m in missing)}")
        try:
            joints = np.asarray(entry["joints"], dtype=np.float32)
            vis = np.asarray(entry["joints_vis"], dtype=np.float32).reshape(-1)
            center = np.asarray(entry["center"], dtype=np.float32).reshape(-1)
            scale = float(entry["scale"])
        except (TypeError, ValueError):
            raise AnnotationError(self.path, f"{where} has non-numeric joints, centre or scale") from None
        if joints.shape != (k, 2):
            raise AnnotationError(self.path, f"{where} has joints of shape {joints.shape}, expected ({k}, 2)")
        if vis.size != k:
            raise AnnotationError(self.path, f"{where} has {vis.size} joints_vis values, expected {k}")
        if center.size != 2 or scale <= 0:
            raise AnnotationError(self.path, f"{where} needs a 2-value centre and a positive scale")
        off = 1.0 if one_based else 0.0
        kps = np.concatenate([joints - off, 2.0 * (vis[:, None] > 0)], axis=1).astype(np.float32)
        kps[vis <= 0, :2] = 0.0
        center = center - off
        center[1] += 15.0 * scale
        size = scale * 200.0 * 1.25
        bbox = np.array([center[0] - size / 2, center[1] - size / 2, size, size], dtype=np.float32)
        person = PersonAnnotation(kps, bbox, size * size, i, center=center, box_size=size)
        return ImageRecord(i, str(entry["image"]), 0, 0, persons=[person])

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_persons(self) -> int:
        return len(self.images)

    def person_samples(self) -> list[tuple[ImageRecord, PersonAnnotation]]:
        return [(r, r.persons[0]) for r in self.images]
