"""COCO-format keypoint annotations (COCO, CrowdPose, custom keypoint sets).

The keypoint names, skeleton and flip pairs come from the file's ``categories`` entry (see
docs/data.md for the optional ``flip_pairs`` and ``sigmas`` fields).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from featherpose.data.errors import AnnotationError
from featherpose.data.records import ImageRecord, PersonAnnotation
from featherpose.skeletons import KEYPOINT_SETS, KeypointSet, keypoint_set_from_coco_category


def read_json(path: str | Path, error: Callable[[Path, str], Exception] = AnnotationError) -> object:
    """Parse a JSON file, turning I/O and syntax errors into ``error(path, problem)`` (a one-line
    exception naming the file; :class:`AnnotationError` by default)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(p, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(p, f"cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(p, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def _keypoint_set(path: Path, category: dict) -> KeypointSet:
    try:
        return keypoint_set_from_coco_category(category)
    except ValueError as exc:
        names = tuple(str(n) for n in category.get("keypoints") or [])
        known = next((s for s in KEYPOINT_SETS.values() if s.keypoints == names), None)
        if known is None:
            raise AnnotationError(path, f"category {category.get('id')!r}: {exc}") from None
        # Some public files (CrowdPose's) carry COCO's 17-point skeleton next to 14 names.
        warnings.warn(f"{path}: category skeleton is invalid ({exc}); using built-in {known.name!r}", stacklevel=3)
        return known


def _number_list(path: Path, where: str, value: object, length: int | None = None) -> np.ndarray:
    if not isinstance(value, list | tuple):
        raise AnnotationError(path, f"{where} must be a list of numbers")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnnotationError(path, f"{where} must be a list of numbers") from None
    if arr.ndim != 1 or (length is not None and arr.size != length):
        raise AnnotationError(path, f"{where} has {arr.size} values, expected {length}")
    return arr


class CocoKeypoints:
    """A loaded COCO-format keypoint file: keypoint set, images, persons and ignore regions.

    Persons are annotations with ``iscrowd == 0`` and ``num_keypoints > 0``; crowd regions and
    persons without keypoints go to each image's ``ignore`` list (see :meth:`ignore_mask`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        data = read_json(self.path)
        if not isinstance(data, dict):
            raise AnnotationError(self.path, "top level must be a JSON object")
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise AnnotationError(self.path, f"missing list field {key!r}")
        cats = [c for c in data["categories"] if isinstance(c, dict) and "keypoints" in c]
        if not cats:
            raise AnnotationError(self.path, "no category with a 'keypoints' list")
        self.category_id = int(cats[0].get("id", 1))
        self.keypoint_set = _keypoint_set(self.path, cats[0])
        self.images: list[ImageRecord] = []
        by_id: dict[int, ImageRecord] = {}
        for i, im in enumerate(data["images"]):
            if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
                raise AnnotationError(self.path, f"images[{i}] needs 'id' and 'file_name'")
            rec = ImageRecord(int(im["id"]), str(im["file_name"]), int(im.get("width", 0)), int(im.get("height", 0)))
            by_id[rec.id] = rec
            self.images.append(rec)
        k = self.keypoint_set.num_keypoints
        for i, ann in enumerate(data["annotations"]):
            self._add_annotation(by_id, i, ann, k)

    def _add_annotation(self, by_id: dict[int, ImageRecord], i: int, ann: object, k: int) -> None:
        where = f"annotations[{i}]"
        if not isinstance(ann, dict):
            raise AnnotationError(self.path, f"{where} must be an object")
        if ann.get("category_id", self.category_id) != self.category_id:
            return
        if "image_id" not in ann:
            raise AnnotationError(self.path, f"{where} has no 'image_id'")
        rec = by_id.get(int(ann["image_id"]))
        if rec is None:
            raise AnnotationError(self.path, f"{where} refers to unknown image_id {ann['image_id']}")
        where = f"annotations[{i}] (id {ann.get('id', '?')})"
        crowd = bool(ann.get("iscrowd", 0))
        if "keypoints" not in ann and not crowd:
            raise AnnotationError(self.path, f"{where} has no 'keypoints'")
        kps = _number_list(self.path, f"{where} 'keypoints'", ann.get("keypoints", [0.0] * 3 * k))
        if kps.size != 3 * k:
            raise AnnotationError(
                self.path, f"{where} has {kps.size} keypoint values, expected 3 x {k} = {3 * k} "
                f"for the {k} keypoints of the category")  # fmt: skip
        kps = kps.reshape(k, 3).astype(np.float32)
        num = int(ann.get("num_keypoints", int((kps[:, 2] > 0).sum())))
        if crowd or num == 0:
            rec.ignore.append(ann)
            return
        if "bbox" not in ann:
            raise AnnotationError(self.path, f"{where} has no 'bbox'")
        bbox = _number_list(self.path, f"{where} 'bbox'", ann["bbox"], 4).astype(np.float32)
        if bbox[2] <= 0 or bbox[3] <= 0:
            return  # degenerate box: nothing to learn from
        area = float(ann.get("area", bbox[2] * bbox[3]))
        rec.persons.append(PersonAnnotation(kps, bbox, area, int(ann.get("id", i))))

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_persons(self) -> int:
        return sum(len(r.persons) for r in self.images)

    def person_samples(self) -> list[tuple[ImageRecord, PersonAnnotation]]:
        """Every (image, person) pair, in file order: the samples of top-down training."""
        return [(r, p) for r in self.images for p in r.persons]

    def ignore_mask(self, record: ImageRecord, height: int | None = None, width: int | None = None) -> np.ndarray:
        """(H, W) float32 mask, 1 = use, 0 = ignore (crowd regions, persons without keypoints)."""
        h, w = height or record.height, width or record.width
        mask = np.ones((h, w), dtype=np.float32)
        for ann in record.ignore:
            mask[region_mask(ann, h, w) > 0] = 0.0
        return mask


def region_mask(ann: dict, height: int, width: int) -> np.ndarray:
    """Binary (H, W) mask of an annotation's segmentation (polygons or RLE), else of its box."""
    seg = ann.get("segmentation")
    if seg:
        if isinstance(seg, list):
            rles = mask_utils.frPyObjects(seg, height, width)
            rle = mask_utils.merge(rles)
        elif isinstance(seg.get("counts"), list):
            rle = mask_utils.frPyObjects(seg, height, width)
        else:
            rle = seg
        return mask_utils.decode(rle).astype(np.uint8)
    out = np.zeros((height, width), dtype=np.uint8)
    if "bbox" in ann:
        x, y, w, h = (float(v) for v in ann["bbox"])
        out[max(0, int(y)) : int(np.ceil(y + h)), max(0, int(x)) : int(np.ceil(x + w))] = 1
    return out
