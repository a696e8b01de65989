"""Network output maps: moving them between coordinate frames (flip and multi-scale merging) and
the :class:`MapLayer` record that :func:`featherpose.viz.save_maps` renders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class MapLayer:
    """One raw output map set of one image: ``kind`` ("heatmaps", "pafs", "tags"), ``data``
    (C, h, w), and ``matrix`` (2x3) taking image pixels to map pixels. For tag maps, ``weights``
    holds the matching (K, h, w) heatmaps (they tell where the tags matter)."""

    kind: str
    data: np.ndarray
    matrix: np.ndarray
    weights: np.ndarray | None = None


def to3x3(m: np.ndarray) -> np.ndarray:
    """A 2x3 affine as a 3x3 homogeneous matrix (float64)."""
    return np.vstack([np.asarray(m, np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])


def compose(*matrices: np.ndarray) -> np.ndarray:
    """``compose(A, B, C)`` = A @ B @ C on 2x3 affines (C is applied first), as 2x3 float64."""
    out = np.eye(3)
    for m in matrices:
        out = out @ to3x3(m)
    return out[:2]


def inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine (float64)."""
    return np.linalg.inv(to3x3(m))[:2]


def pixel_scale(factor_x: float, factor_y: float) -> np.ndarray:
    """The affine of a resize by (fx, fy) with pixel centres at integers: x' = (x + 0.5) f - 0.5."""
    return np.array([[factor_x, 0.0, 0.5 * factor_x - 0.5], [0.0, factor_y, 0.5 * factor_y - 0.5]])


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


def limb_flip_index(limbs: Sequence[tuple[int, int]], flip_index: Sequence[int]) -> list[int]:
    """For each limb, the index of its mirror limb (the limb between the mirrored keypoints)."""
    where = {tuple(limb): i for i, limb in enumerate(limbs)}
    out = []
    for a, b in limbs:
        fa, fb = flip_index[a], flip_index[b]
        j = where.get((fa, fb), where.get((fb, fa)))
        if j is None:
            raise ValueError(f"limb ({a}, {b}) has no mirror limb ({fa}, {fb}) in the skeleton")
        out.append(j)
    return out


def mirror_pafs(
    pafs: np.ndarray,
    limbs: Sequence[tuple[int, int]],
    flip_index: Sequence[int],
    channels: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Channel part of flipping (2L, h, w) PAFs: each limb takes its mirror's field with x negated.
    (The spatial mirror is done by the warp.) A mirror limb stored reversed flips the direction.
    ``channels``: the (x, y) channels of each limb (default ``2i, 2i + 1``; the OpenPose codec's
    ``paf_channels`` for its reference layout)."""
    ch = channels or [(2 * i, 2 * i + 1) for i in range(len(limbs))]
    out = np.empty_like(pafs)
    idx = limb_flip_index(limbs, flip_index)
    for i, j in enumerate(idx):
        a, b = limbs[i]
        same_dir = (flip_index[a], flip_index[b]) == tuple(limbs[j])
        sign = 1.0 if same_dir else -1.0
        out[ch[i][0]] = -sign * pafs[ch[j][0]]
        out[ch[i][1]] = sign * pafs[ch[j][1]]
    return out
