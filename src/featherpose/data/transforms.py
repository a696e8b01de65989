"""Geometric and photometric transforms for pose samples (OpenCV based).

Conventions: points are (x, y) image pixels with pixel centres at integers; ``scale`` is the
(w, h) size in pixels of the image region a crop covers; sizes are (H, W).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
LOWER_BODY_WORDS = ("hip", "knee", "ankle", "pelvis", "foot", "heel", "toe")


def box_to_center_scale(
    bbox: Sequence[float], aspect_ratio: float, padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """COCO box [x, y, w, h] -> centre (2,) and (w, h) scale with ``w / h == aspect_ratio``, padded."""
    x, y, w, h = (float(v) for v in bbox)
    center = np.array([x + w * 0.5, y + h * 0.5], np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return center, np.array([w, h], np.float32) * padding


def fix_aspect(scale: Sequence[float], aspect_ratio: float) -> np.ndarray:
    """Grow a (w, h) scale so that w / h == aspect_ratio."""
    w, h = float(scale[0]), float(scale[1])
    return np.array([max(w, h * aspect_ratio), max(h, w / aspect_ratio)], np.float32)


def get_warp_matrix(
    center: Sequence[float],
    scale: Sequence[float],
    rotation: float,
    output_size: tuple[int, int],
    udp: bool = False,
    flip: bool = False,
) -> np.ndarray:
    """2x3 affine taking the ``scale``-sized region around ``center`` (rotated by ``rotation``
    degrees, counter-clockwise) to an ``output_size`` (H, W) crop, optionally mirrored.

    Standard: the centre lands on (W/2, H/2) and ``scale`` spans W pixels; UDP: the centre lands
    on ((W-1)/2, (H-1)/2) and ``scale`` spans W-1 pixels.
    """
    oh, ow = output_size
    if udp:
        s, oc = (ow - 1.0) / float(scale[0]), np.array([(ow - 1) / 2.0, (oh - 1) / 2.0])
    else:
        s, oc = ow / float(scale[0]), np.array([ow / 2.0, oh / 2.0])
    t = np.deg2rad(rotation)
    cos, sin = np.cos(t), np.sin(t)
    rot = np.array([[cos, sin], [-sin, cos]]) * s  # counter-clockwise on screen (y down)
    m = np.zeros((2, 3))
    m[:, :2] = rot
    m[:, 2] = oc - rot @ np.asarray(center, np.float64)
    if flip:
        m = np.array([[-1.0, 0.0, ow - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0, 0, 1]])
    return m.astype(np.float32)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine (cv2.invertAffineTransform)."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64)).astype(np.float32)


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to points (..., 2) (extra columns such as visibility are kept)."""
    pts = np.asarray(points, np.float32)
    m = np.asarray(matrix, np.float32)
    out = pts.copy()
    out[..., :2] = pts[..., :2] @ m[:, :2].T + m[:, 2]
    return out


def to_image_coords(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map decoded input-frame points (..., 2) back to image pixels, given the forward warp matrix."""
    return affine_points(points, invert_affine(matrix))


def warp_image(image: np.ndarray, matrix: np.ndarray, output_size: tuple[int, int], border: float = 0) -> np.ndarray:
    """cv2.warpAffine to an (H, W) output with bilinear sampling and a constant border."""
    return cv2.warpAffine(
        image, np.asarray(matrix, np.float32), (int(output_size[1]), int(output_size[0])),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border,
    )  # fmt: skip


def flip_keypoints(keypoints: np.ndarray, width: float, flip_index: Sequence[int]) -> np.ndarray:
    """Mirror (..., K, C) keypoints about a ``width``-pixel wide image and swap left/right channels."""
    kp = np.asarray(keypoints, np.float32).copy()
    kp[..., 0] = width - 1.0 - kp[..., 0]
    return kp[..., list(flip_index), :]


def swap_flip_channels(keypoints: np.ndarray, flip_index: Sequence[int]) -> np.ndarray:
    """Reorder (..., K, C) keypoints (or (K, ...) maps with ``axis=-2``) by the flip permutation."""
    return np.asarray(keypoints)[..., list(flip_index), :]


def lower_body_mask(names: Sequence[str]) -> np.ndarray:
    """Boolean (K,) mask of lower-body keypoints, from their names (hip, knee, ankle, ...)."""
    return np.array([any(w in n for w in LOWER_BODY_WORDS) for n in names], bool)


def half_body_region(
    keypoints: np.ndarray, names: Sequence[str], aspect_ratio: float, rng: np.random.Generator, min_points: int = 2
) -> tuple[np.ndarray, np.ndarray] | None:
    """Centre/scale around the upper or the lower body (random choice), or None if too few points."""
    vis = keypoints[:, 2] > 0
    lower = lower_body_mask(names)
    upper_pts, lower_pts = keypoints[vis & ~lower, :2], keypoints[vis & lower, :2]
    pts = (
        upper_pts if (rng.random() < 0.5 and len(upper_pts) > min_points) or len(lower_pts) <= min_points else lower_pts
    )
    if len(pts) < min_points:
        return None
    lo, hi = pts.min(0), pts.max(0)
    center = (lo + hi) / 2.0
    scale = fix_aspect(hi - lo + 1.0, aspect_ratio) * 1.5
    return center.astype(np.float32), scale


DISTRIBUTIONS = ("uniform", "normal")


def draw_rotation(rng: np.random.Generator, max_degrees: float, dist: str = "uniform") -> float:
    """One rotation in degrees: ``uniform`` U(-r, r) (HigherHRNet / LitePose, Lightweight OpenPose) or
    ``normal`` N(0, r) clipped to +-2r (HRNet / SimpleBaseline's ``ROT_FACTOR``)."""
    r = float(max_degrees)
    if dist == "uniform":
        return float(rng.uniform(-r, r))
    if dist == "normal":
        return float(np.clip(rng.normal(0.0, r), -2.0 * r, 2.0 * r))
    raise ValueError(f"rotation distribution must be one of {DISTRIBUTIONS}, got {dist!r}")


def draw_scale(rng: np.random.Generator, scale_range: Sequence[float], dist: str = "uniform") -> float:
    """One scale factor in ``scale_range`` = (lo, hi): ``uniform`` U(lo, hi), or ``normal``
    N(c, (hi - lo) / 2) clipped to [lo, hi] with c = (lo + hi) / 2 -- HRNet / SimpleBaseline's
    ``clip(randn * sf + 1, 1 - sf, 1 + sf)`` for the range (1 - sf, 1 + sf)."""
    lo, hi = float(scale_range[0]), float(scale_range[1])
    if dist == "uniform":
        return float(rng.uniform(lo, hi))
    if dist == "normal":
        return float(np.clip(rng.normal((lo + hi) / 2.0, (hi - lo) / 2.0), lo, hi))
    raise ValueError(f"scale distribution must be one of {DISTRIBUTIONS}, got {dist!r}")


def color_jitter(
    image: np.ndarray, rng: np.random.Generator, brightness: float = 0.2, contrast: float = 0.2, saturation: float = 0.2
) -> np.ndarray:
    """Random brightness, contrast and saturation on an RGB uint8 image."""
    img = image.astype(np.float32)
    img *= 1.0 + rng.uniform(-brightness, brightness)
    mean = img.mean()
    img = (img - mean) * (1.0 + rng.uniform(-contrast, contrast)) + mean
    gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = (img - gray[..., None]) * (1.0 + rng.uniform(-saturation, saturation)) + gray[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Normalisation:
    """``(pixel - mean) / std`` per channel on 0-255 values, in ``order`` ("RGB" or "BGR").

    One object for training samples, evaluation and inference, so a network always sees the pixels
    it was trained on; :meth:`for_model` picks a model's own statistics."""

    mean: tuple[float, float, float] = tuple(float(v) * 255 for v in IMAGENET_MEAN)  # type: ignore[assignment]
    std: tuple[float, float, float] = tuple(float(v) * 255 for v in IMAGENET_STD)  # type: ignore[assignment]
    order: str = "RGB"

    @classmethod
    def for_model(cls, model: object) -> Normalisation:
        """The model's own ``input_mean`` / ``input_std`` / ``input_channel_order`` attributes when it
        has them (the OpenPose family: BGR, (x - 128) / 256), else ImageNet statistics on RGB."""
        mean = getattr(model, "input_mean", None)
        std = getattr(model, "input_std", None)
        if mean is not None and std is not None:
            return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std),
                       str(getattr(model, "input_channel_order", "RGB")).upper())  # fmt: skip
        return cls()

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "order": self.order}

    @classmethod
    def from_dict(cls, d: dict) -> Normalisation:
        return cls(tuple(float(v) for v in d["mean"]), tuple(float(v) for v in d["std"]), str(d["order"]).upper())

    def __call__(self, images_bgr: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 BGR -> (N, 3, H, W) float32 network input."""
        x = images_bgr[..., ::-1] if self.order == "RGB" else images_bgr
        x = (x.astype(np.float32) - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def tensor(self, image_rgb: np.ndarray) -> torch.Tensor:
        """One (H, W, 3) uint8 RGB image (as the training datasets hold them) -> (3, H, W) tensor."""
        return torch.from_numpy(self(np.ascontiguousarray(image_rgb[None, ..., ::-1]))[0])


IMAGENET = Normalisation()


def normalize_image(image: np.ndarray, norm: Normalisation | None = None) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float tensor (3, H, W), normalised by ``norm`` (ImageNet RGB by default)."""
    return (norm or IMAGENET).tensor(image)


def fit_matrix(width: int, height: int, input_size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio, image at the top-left, padding right/bottom -> (matrix, factor)."""
    f = min(input_size[0] / height, input_size[1] / width)
    m = np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5]], np.float32)
    return m, f
