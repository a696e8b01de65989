"""Helpers shared by the codecs: array conversion, Gaussians, peak finding, sub-pixel refinement."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

try:  # torch is a dependency, but decoders must not need it for numpy input
    import torch
except ImportError:  # pragma: no cover
    torch = None


def to_numpy(x: object, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` (numpy array or torch tensor) as a float32 numpy array, batching to ``ndim`` dims."""
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float32).numpy()
    arr = np.asarray(x, dtype=np.float32)
    if ndim is not None:
        while arr.ndim < ndim:
            arr = arr[None]
        if arr.ndim != ndim:
            raise ValueError(f"expected an array with {ndim} dims (N, C, H, W), got shape {arr.shape}")
    return arr


@dataclass
class MultiPersonPoses:
    """The persons found in one image by a bottom-up decoder.

    ``keypoints`` (P, K, 2) in the network-input frame, ``keypoint_scores`` (P, K) in [0, 1]
    (0 = keypoint not found), ``scores`` (P,) person scores in [0, 1].
    """

    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls, num_keypoints: int) -> MultiPersonPoses:
        return cls(
            np.zeros((0, num_keypoints, 2), np.float32),
            np.zeros((0, num_keypoints), np.float32),
            np.zeros(0, np.float32),
        )

    def __len__(self) -> int:
        return len(self.scores)


def gaussian_maps(centers: np.ndarray, xs: np.ndarray, ys: np.ndarray, sigma: float) -> np.ndarray:
    """exp(-d^2 / 2 sigma^2) for every centre (..., 2) over the grid ``xs`` (W,), ``ys`` (H,) -> (..., H, W)."""
    dx = xs[None, :] - centers[..., 0, None, None]
    dy = ys[:, None] - centers[..., 1, None, None]
    return np.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).astype(np.float32)


def find_peaks(maps: np.ndarray, threshold: float, kernel: int = 3, cross: bool = False) -> tuple[np.ndarray, ...]:
    """Local maxima of (C, H, W) ``maps`` above ``threshold`` (kernel x kernel NMS, vectorised;
    ``cross``: compare with the 4 neighbours only, as the Lightweight OpenPose reference).

    One OpenCV dilation over all channels stacked vertically, separated by ``kernel // 2`` rows of
    -inf (several times faster than ``scipy.ndimage.maximum_filter``). Returns (channel, y, x)
    index arrays, in channel-major order.
    """
    maps = np.asarray(maps, np.float32)
    c, h, w = maps.shape
    r = kernel // 2
    stack = np.full((c, h + r, w), -np.inf, np.float32)
    stack[:, :h] = maps
    shape = cv2.MORPH_CROSS if cross else cv2.MORPH_RECT
    element = cv2.getStructuringElement(shape, (kernel, kernel))
    pooled = cv2.dilate(stack.reshape(c * (h + r), w), element, borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
    pooled = pooled.reshape(c, h + r, w)[:, :h]
    return np.nonzero((maps == pooled) & (maps > threshold))


def refine_log_parabola(maps: np.ndarray, c: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sub-pixel offsets (n, 2) at integer peaks by a parabola through the log of the 3 neighbours per axis.

    Exact for a sampled Gaussian; offsets are clipped to [-0.5, 0.5] and 0 at the border.
    """
    h, w = maps.shape[-2:]
    logm = np.log(np.maximum(maps, 1e-10))
    off = np.zeros((len(x), 2), np.float32)
    for axis, (pos, size) in enumerate(((x, w), (y, h))):
        ok = (pos > 0) & (pos < size - 1)
        lo, hi = np.clip(pos - 1, 0, size - 1), np.clip(pos + 1, 0, size - 1)
        centre = logm[c, y, x]
        if axis == 0:
            a, b = logm[c, y, lo], logm[c, y, hi]
        else:
            a, b = logm[c, lo, x], logm[c, hi, x]
        denom = a - 2.0 * centre + b
        good = ok & (denom < -1e-6)
        d = np.where(good, 0.5 * (a - b) / np.where(good, denom, -1.0), 0.0)
        off[:, axis] = np.clip(d, -0.5, 0.5)
    return off


def resize_maps(maps: np.ndarray, size: tuple[int, int], interpolation: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Resize (C, H, W) maps to ``size`` = (H', W') with OpenCV (pixel-centre aligned)."""
    c = maps.shape[0]
    out = np.empty((c, size[0], size[1]), np.float32)
    for start in range(0, c, 128):  # OpenCV 5 resizes at most 128 channels at once
        chunk = np.ascontiguousarray(maps[start : start + 128].transpose(1, 2, 0))
        r = cv2.resize(chunk, (size[1], size[0]), interpolation=interpolation)
        out[start : start + 128] = r.reshape(size[0], size[1], -1).transpose(2, 0, 1)
    return out
