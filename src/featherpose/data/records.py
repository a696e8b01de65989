"""Plain records shared by the dataset loaders: one person, one image."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PersonAnnotation:
    """One annotated person.

    ``keypoints`` is (K, 3): x, y in image pixels and visibility v (0 unlabeled, 1 occluded,
    2 visible). ``bbox`` is COCO ``[x, y, w, h]``. ``center``/``box_size`` are set when the file
    gives them (MPII); otherwise top-down sampling derives them from the box.
    """

    keypoints: np.ndarray
    bbox: np.ndarray
    area: float
    id: int
    center: np.ndarray | None = None
    box_size: float | None = None

    @property
    def num_visible(self) -> int:
        return int((self.keypoints[:, 2] > 0).sum())


@dataclass
class ImageRecord:
    """One image with its labelled persons and the regions to ignore in bottom-up training.

    ``ignore`` holds the raw annotations (crowd regions and persons without keypoints) whose
    segmentation or box becomes the ignore mask.
    """

    id: int
    file_name: str
    width: int
    height: int
    persons: list[PersonAnnotation] = field(default_factory=list)
    ignore: list[dict] = field(default_factory=list)

    def keypoints(self) -> np.ndarray:
        """All persons' keypoints stacked as (P, K, 3) (P may be 0)."""
        if not self.persons:
            return np.zeros((0, 0, 3), dtype=np.float32)
        return np.stack([p.keypoints for p in self.persons]).astype(np.float32)
