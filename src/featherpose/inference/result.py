"""The :class:`Result` of one image: its poses, the keypoint set, the image (for :meth:`Result.plot`)
and conversions to a dict / JSON, normalised coordinates and a rendered image."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from featherpose.inference.pose import Pose, generic_keypoint_set, poses_to_array, reduced_pixels
from featherpose.io import LoadedImage
from featherpose.skeletons import KEYPOINT_SETS, KeypointSet


@dataclass
class Result:
    """The poses found in one image (a read-only list of :class:`Pose`: ``len``, iteration,
    indexing), with ``keypoint_set``, ``image_size`` (height, width of the original image, the frame
    of the pose coordinates), ``source`` (file name or a description) and ``image`` (the BGR pixels
    the estimator saw, None for a result read back from JSON). ``scale``: original pixels per
    pixel of ``image`` (1, 1 unless a large JPEG was decoded reduced)."""

    poses: list[Pose]
    keypoint_set: KeypointSet
    image_size: tuple[int, int]
    source: str = ""
    image: np.ndarray | None = field(default=None, repr=False)
    scale: tuple[float, float] = (1.0, 1.0)

    @classmethod
    def from_frame(cls, poses: list[Pose], frame: LoadedImage, keypoint_set: KeypointSet) -> Result:
        """The result of ``poses`` found in a loaded image; each pose gets the keypoint set and the
        original image size."""
        h, w = frame.pixels.shape[:2]
        size = (round(h * frame.scale[1]), round(w * frame.scale[0]))
        for p in poses:
            p.keypoint_set, p.image_size = keypoint_set, size
        return cls(list(poses), keypoint_set, size, frame.source, frame.pixels, frame.scale)

    # -- the list of poses -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.poses)

    def __iter__(self) -> Iterator[Pose]:
        return iter(self.poses)

    def __getitem__(self, index: int) -> Pose:
        return self.poses[index]

    @property
    def names(self) -> tuple[str, ...]:
        """The keypoint names, in row order."""
        return self.keypoint_set.keypoints

    @property
    def keypoints(self) -> np.ndarray:
        """(P, K, 3) float32 rows of (x, y, score) in original image pixels."""
        return poses_to_array(self.poses, len(self.keypoint_set))

    @property
    def scores(self) -> np.ndarray:
        """(P,) pose scores."""
        return np.array([p.score for p in self.poses], np.float32)

    def normalized(self) -> np.ndarray:
        """(P, K, 3) keypoints with x, y as fractions of the image width / height (0 and 1 are the
        image edges; see :func:`featherpose.inference.pose.normalize_points`)."""
        if not self.poses:
            return np.zeros((0, len(self.keypoint_set), 3), np.float64)
        return np.stack([p.normalized(self.image_size) for p in self.poses])

    # -- dict / JSON -----------------------------------------------------------------------------
    def to_dict(self, decimals: int | None = 3) -> dict[str, Any]:
        """``{"source", "image_size": {"height", "width"}, "keypoint_set", "keypoint_names",
        "poses": [Pose.to_dict(...) without the per-pose context]}``."""
        return {
            "source": self.source,
            "image_size": {"height": int(self.image_size[0]), "width": int(self.image_size[1])},
            "keypoint_set": self.keypoint_set.name,
            "keypoint_names": list(self.names),
            "poses": [self._bound(p).to_dict(decimals, context=False) for p in self.poses],
        }

    def to_json(self, indent: int | None = None, decimals: int | None = 3) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(decimals), indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], keypoint_set: KeypointSet | None = None) -> Result:
        """A result read back from :meth:`to_dict` (or its JSON, parsed); it has no image (pass one
        to :meth:`draw`). The keypoint set: ``keypoint_set``, else the named built-in one when the
        names match, else one with the dict's names and no skeleton."""
        try:
            size = (int(data["image_size"]["height"]), int(data["image_size"]["width"]))
            names = tuple(str(n) for n in data["keypoint_names"])
            kset = keypoint_set
            if kset is None:
                known = KEYPOINT_SETS.get(str(data.get("keypoint_set", "")))
                kset = known if known is not None and known.keypoints == names else generic_keypoint_set(names)
            poses = [Pose.from_dict(p, kset, size) for p in data["poses"]]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"result dict: missing or malformed field {exc}") from None
        return cls(poses, kset, size, str(data.get("source", "")))

    # -- drawing ---------------------------------------------------------------------------------
    def draw(self, image: np.ndarray | None = None, **options: Any) -> np.ndarray:
        """A copy of the BGR ``image`` (default: the result's own) with every pose drawn by
        :func:`featherpose.viz.draw_poses`; ``options``: the fields of
        :class:`featherpose.viz.DrawOptions` or ``options=``. A given image must have the original
        size; the result's own image may be a reduced decode (the poses are scaled onto it)."""
        from featherpose.viz import draw_poses

        if image is None:
            if self.image is None:
                where = f"result {self.source}" if self.source else "result"
                raise ValueError(f"{where}: it holds no image (read back from JSON?); pass one to draw(image)")
            image, scale = self.image, self.scale
        else:
            h, w = image.shape[:2]
            if (h, w) != tuple(self.image_size):
                raise ValueError(f"result {self.source}: image is {w}x{h}, the poses are in a "
                                 f"{self.image_size[1]}x{self.image_size[0]} image")  # fmt: skip
            scale = (1.0, 1.0)
        return draw_poses(image, [reduced_pixels(p, scale) for p in self.poses], self.keypoint_set, **options)

    def plot(self, **options: Any) -> np.ndarray:
        """The result's own image with the poses drawn (as :meth:`draw` without an image)."""
        return self.draw(None, **options)

    def save(self, path: str | Path, **options: Any) -> Path:
        """Write :meth:`plot` to ``path`` (any format OpenCV writes, from the suffix)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), self.plot(**options)):
            raise OSError(f"{path}: cannot be written (unknown image suffix or unwritable folder)")
        return path

    # -- helpers ---------------------------------------------------------------------------------
    def _bound(self, pose: Pose) -> Pose:
        """``pose`` with this result's keypoint set and image size when it lacks them."""
        if pose.keypoint_set is None or pose.image_size is None:
            pose = Pose(pose.keypoints, pose.score, pose.box, pose.track_id, pose.keypoint_set or self.keypoint_set,
                        pose.image_size or self.image_size)  # fmt: skip
        return pose
