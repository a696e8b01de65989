"""The :class:`Pose` result type and its conversions (COCO results format, a JSON-friendly dict,
normalised coordinates, drawing; boxes from keypoints)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from featherpose.skeletons import COCO17, KEYPOINT_SETS, KeypointSet


def generic_keypoint_set(names: tuple[str, ...] | int) -> KeypointSet:
    """A keypoint set with these names (or ``kpt_0``, ``kpt_1``, ... for a count) and no skeleton."""
    names = tuple(f"kpt_{i}" for i in range(names)) if isinstance(names, int) else tuple(names)
    return KeypointSet(name="custom", keypoints=names, limbs=(), flip_pairs=())


def normalize_points(xy: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Pixel (x, y) (pixel centres at integers) -> fractions of the image (h, w): (x + 0.5) / w,
    (y + 0.5) / h, so 0 and 1 are the image edges and every in-image point is in [0, 1]."""
    h, w = image_size
    xy = np.asarray(xy, np.float64)
    return (xy + 0.5) / np.array([w, h], np.float64)


@dataclass
class Pose:
    """One person: ``keypoints`` (K, 3) rows of (x, y, score) in image pixels (pixel centres at
    integers), the pose ``score``, the person ``box`` (x, y, w, h) in image pixels and, when a
    tracker ran, a ``track_id``. A keypoint that was not found has score 0.

    ``keypoint_set`` names the keypoints and gives the skeleton (set by the estimator; without it
    17 points are taken as COCO-17, other counts get ``kpt_<i>`` names); ``image_size`` (height,
    width) of the image the pose was found in, for :meth:`normalized` (set by the estimator)."""

    keypoints: np.ndarray
    score: float
    box: tuple[float, float, float, float]
    track_id: int | None = None
    keypoint_set: KeypointSet | None = field(default=None, repr=False, compare=False)
    image_size: tuple[int, int] | None = field(default=None, repr=False, compare=False)

    # -- names and coordinates -------------------------------------------------------------------
    @property
    def skeleton(self) -> KeypointSet:
        """The keypoint set: ``keypoint_set``, else COCO-17 for 17 points, else generic names."""
        if self.keypoint_set is not None:
            return self.keypoint_set
        k = len(self.keypoints)
        return COCO17 if k == COCO17.num_keypoints else generic_keypoint_set(k)

    @property
    def names(self) -> tuple[str, ...]:
        """The keypoint names, in row order (``("nose", "left_eye", ...)`` for COCO-17)."""
        return self.skeleton.keypoints

    def keypoint(self, name: str) -> np.ndarray:
        """The (x, y, score) row of the keypoint called ``name``."""
        try:
            return np.asarray(self.keypoints)[self.names.index(name)]
        except ValueError:
            raise KeyError(f"no keypoint {name!r} in {self.skeleton.name} ({', '.join(self.names)})") from None

    def normalized(self, image_size: tuple[int, int] | None = None) -> np.ndarray:
        """(K, 3) rows of (x, y, score) with x, y as fractions of the image width / height (see
        :func:`normalize_points`); ``image_size`` (height, width) defaults to the pose's own."""
        size = image_size or self.image_size
        if size is None:
            raise ValueError("Pose.normalized: the image size is unknown; pass image_size=(height, width)")
        kp = np.asarray(self.keypoints, np.float64).copy()
        kp[:, :2] = normalize_points(kp[:, :2], size)
        return kp

    # -- conversions -----------------------------------------------------------------------------
    def to_coco(self, image_id: int, category_id: int = 1, **extra: object) -> dict:
        """A COCO keypoint *results* entry (``keypoints`` flattened as x, y, score per keypoint)."""
        entry = {
            "image_id": int(image_id),
            "category_id": int(category_id),
            "keypoints": [round(float(v), 3) for v in np.asarray(self.keypoints, np.float64).reshape(-1)],
            "score": round(float(self.score), 6),
            "bbox": [round(float(v), 2) for v in self.box],
        }
        if self.track_id is not None:
            entry["track_id"] = int(self.track_id)
        entry.update(extra)
        return entry

    def to_dict(self, decimals: int | None = 3, context: bool = True) -> dict[str, Any]:
        """A JSON-friendly dict: ``score``, ``box`` [x, y, w, h], ``track_id`` (when set) and
        ``keypoints``, one ``{"name", "x", "y", "score"}`` per keypoint, plus ``xn`` / ``yn``
        (:meth:`normalized`) when the image size is known. ``context`` adds ``keypoint_set`` and
        ``image_size`` {"height", "width"}. Pixels are rounded to ``decimals`` (None: exact),
        scores and normalised coordinates to 3 more. :meth:`from_dict` reads it back."""

        def rnd(v: float, extra: int = 0) -> float:
            return float(v) if decimals is None else round(float(v), decimals + extra)

        kp = np.asarray(self.keypoints, np.float64)
        norm = self.normalized() if self.image_size is not None else None
        points = []
        for j, name in enumerate(self.names):
            point = {"name": name, "x": rnd(kp[j, 0]), "y": rnd(kp[j, 1]), "score": rnd(kp[j, 2], 3)}
            if norm is not None:
                point.update(xn=rnd(norm[j, 0], 3), yn=rnd(norm[j, 1], 3))
            points.append(point)
        out: dict[str, Any] = {"score": rnd(self.score, 3), "box": [rnd(v) for v in self.box]}
        if self.track_id is not None:
            out["track_id"] = int(self.track_id)
        if context:
            out["keypoint_set"] = self.skeleton.name
            if self.image_size is not None:
                out["image_size"] = {"height": int(self.image_size[0]), "width": int(self.image_size[1])}
        out["keypoints"] = points
        return out

    def to_json(self, indent: int | None = None, decimals: int | None = 3) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(decimals), indent=indent)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        keypoint_set: KeypointSet | None = None,
        image_size: tuple[int, int] | None = None,
    ) -> Pose:
        """The pose of a :meth:`to_dict` dict (or its JSON, parsed). The keypoint set is
        ``keypoint_set``, else the named built-in one when its names match, else a set with the
        dict's names and no skeleton; ``image_size`` (height, width) defaults to the dict's."""
        points = data["keypoints"]
        kp = np.array([[p["x"], p["y"], p["score"]] for p in points], np.float32).reshape(-1, 3)
        names = tuple(str(p.get("name", f"kpt_{j}")) for j, p in enumerate(points))
        kset = keypoint_set
        if kset is None:
            known = KEYPOINT_SETS.get(str(data.get("keypoint_set", "")))
            kset = known if known is not None and known.keypoints == names else generic_keypoint_set(names)
        if len(kset.keypoints) != len(kp):
            raise ValueError(f"pose dict: {len(kp)} keypoints for keypoint set {kset.name} ({len(kset)} points)")
        size = data.get("image_size")
        if image_size is None and size is not None:
            image_size = (int(size["height"]), int(size["width"]))
        box = tuple(float(v) for v in data["box"])
        if len(box) != 4:
            raise ValueError(f"pose dict: box must be [x, y, w, h], got {data['box']!r}")
        tid = data.get("track_id")
        return cls(kp, float(data["score"]), box, None if tid is None else int(tid), kset, image_size)  # type: ignore[arg-type]

    # -- drawing ---------------------------------------------------------------------------------
    def draw(self, image: np.ndarray, **options: Any) -> np.ndarray:
        """A copy of the BGR ``image`` with this pose drawn by :func:`featherpose.viz.draw_poses`;
        ``options``: the fields of :class:`featherpose.viz.DrawOptions` (``kpt_thr``,
        ``thickness``, ``radius``, ``show_ids``, ``show_boxes``, ``colors``) or ``options=``."""
        from featherpose.viz import draw_poses

        return draw_poses(image, [self], self.skeleton, **options)


def reduced_pixels(pose: Pose, scale: tuple[float, float]) -> Pose:
    """``pose`` (original image pixels) in the pixels of the same image decoded ``scale`` = (fx, fy) times
    smaller, for drawing on it: the inverse of :func:`featherpose.inference.pose_filter.to_original`;
    ``pose`` itself at (1, 1)."""
    fx, fy = scale
    if (fx, fy) == (1.0, 1.0):
        return pose
    kp = np.array(pose.keypoints, np.float32)
    kp[:, 0], kp[:, 1] = (kp[:, 0] + 0.5) / fx - 0.5, (kp[:, 1] + 0.5) / fy - 0.5
    x, y, w, h = pose.box
    return replace(pose, keypoints=kp, box=((x + 0.5) / fx - 0.5, (y + 0.5) / fy - 0.5, w / fx, h / fy))


def box_from_keypoints(keypoints: np.ndarray, thr: float = 0.0, pad: float = 0.0) -> tuple[float, float, float, float]:
    """(x, y, w, h) extent of the keypoints scoring above ``thr`` (all of them if none do), each
    side grown by ``pad`` times the extent (a keypoint box is tighter than a person box)."""
    kp = np.asarray(keypoints, np.float64)
    sel = kp[kp[:, 2] > thr] if kp.shape[1] > 2 and (kp[:, 2] > thr).any() else kp
    lo, hi = sel[:, :2].min(0), sel[:, :2].max(0)
    size = hi - lo
    lo, hi = lo - pad * size, hi + pad * size
    return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])


def poses_from_arrays(
    keypoints: np.ndarray, scores: np.ndarray, boxes: np.ndarray | None = None, box_thr: float = 0.0
) -> list[Pose]:
    """Build poses from (P, K, 3) keypoints, (P,) scores and optional (P, 4) boxes (else from keypoints)."""
    kps = np.asarray(keypoints, np.float32).reshape(len(scores), -1, 3)
    out = []
    for i in range(len(kps)):
        box = tuple(float(v) for v in boxes[i]) if boxes is not None else box_from_keypoints(kps[i], box_thr)
        out.append(Pose(kps[i].copy(), float(scores[i]), box))
    return out


def poses_to_array(poses: list[Pose], num_keypoints: int) -> np.ndarray:
    """Stack poses' keypoints into a (P, K, 3) float32 array (shape (0, K, 3) for no poses)."""
    if not poses:
        return np.zeros((0, num_keypoints, 3), np.float32)
    return np.stack([np.asarray(p.keypoints, np.float32) for p in poses])
