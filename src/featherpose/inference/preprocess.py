"""Preprocessing: input normalisation, top-down person crops and bottom-up resize-and-pad.

Every function returns the 2x3 matrix taking image pixels to network-input pixels, so that the
decoded keypoints can be mapped back exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from featherpose.data.transforms import Normalisation, box_to_center_scale, get_warp_matrix  # noqa: F401 (re-export)

from .maps import compose, pixel_scale


def crop_matrices(
    boxes: np.ndarray,
    input_size: tuple[int, int],
    scale: float = 1.0,
    flip: bool = False,
    udp: bool = False,
    padding: float = 1.25,
) -> np.ndarray:
    """(M, 4) person boxes (x, y, w, h) -> (M, 2, 3) image-to-crop affines: the box centre, the box
    grown to the input aspect ratio and by ``padding`` (x ``scale`` for multi-scale testing),
    mirrored when ``flip``."""
    aspect = input_size[1] / input_size[0]
    out = np.zeros((len(boxes), 2, 3), np.float64)
    for i, box in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
        center, size = box_to_center_scale(box, aspect, padding)
        out[i] = get_warp_matrix(center, size * scale, 0.0, input_size, udp=udp, flip=flip)
    return out


def warp_crops(image: np.ndarray, matrices: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """Cut one (H, W, 3) crop per matrix (bilinear, black outside the image)."""
    h, w = input_size
    out = np.empty((len(matrices), h, w, 3), np.uint8)
    for i, m in enumerate(matrices):
        out[i] = cv2.warpAffine(image, np.asarray(m, np.float64), (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))  # fmt: skip
    return out


def fit_image(image: np.ndarray, input_size: tuple[int, int], flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Bottom-up input: resize keeping the aspect ratio so the image fits ``input_size`` (H, W),
    top-left aligned, zero padding right / bottom; mirrored when ``flip``.

    Returns the (H, W, 3) input and the 2x3 image-to-input matrix.
    """
    h, w = image.shape[:2]
    f = min(input_size[0] / h, input_size[1] / w)
    nw, nh = max(1, min(input_size[1], round(w * f))), max(1, min(input_size[0], round(h * f)))
    interp = cv2.INTER_AREA if nw < w else cv2.INTER_LINEAR
    out = np.zeros((input_size[0], input_size[1], 3), np.uint8)
    out[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=interp)
    m = pixel_scale(nw / w, nh / h)
    if flip:
        out = np.ascontiguousarray(out[:, ::-1])
        m = compose(np.array([[-1.0, 0.0, input_size[1] - 1.0], [0.0, 1.0, 0.0]]), m)
    return out, m


def scaled_size(input_size: Sequence[int], scale: float, divisor: int) -> tuple[int, int]:
    """``input_size`` x ``scale`` rounded up to a multiple of ``divisor`` (the network's stride)."""
    return tuple(int(-(-round(s * scale) // divisor) * divisor) for s in input_size)  # type: ignore[return-value]
