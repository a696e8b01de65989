"""Network output maps: moving them between coordinate frames (flip and multi-scale merging) and
the :class:`MapLayer` record that :func:`featherpose.viz.save_maps` renders."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from featherpose.codecs.openpose import limb_flip_index, mirror_pafs  # noqa: F401 (re-export)
from featherpose.preprocess import compose, inverse, pixel_scale, to3x3  # noqa: F401 (re-export)


@dataclass
class MapLayer:
    """One raw output map set of one image: ``kind`` ("heatmaps", "pafs", "tags"), ``data``
    (C, h, w), and ``matrix`` (2x3) taking image pixels to map pixels. For tag maps, ``weights``
    holds the matching (K, h, w) heatmaps (they tell where the tags matter)."""

    kind: str
    data: np.ndarray
    matrix: np.ndarray
    weights: np.ndarray | None = None


def warp_maps(maps: np.ndarray, dst_to_src: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample (C, h, w) maps onto an (H', W') grid; ``dst_to_src`` takes output to input map pixels
    (bilinear, zeros outside)."""
    c = maps.shape[0]
    out = np.empty((c, size[0], size[1]), np.float32)
    m = np.asarray(dst_to_src, np.float64)
    for start in range(0, c, 256):  # OpenCV takes at most 512 channels at once
        chunk = np.ascontiguousarray(maps[start : start + 256].transpose(1, 2, 0), np.float32)
        r = cv2.warpAffine(
            chunk, m, (size[1], size[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )  # fmt: skip
        out[start : start + 256] = r.reshape(size[0], size[1], -1).transpose(2, 0, 1)
    return out
