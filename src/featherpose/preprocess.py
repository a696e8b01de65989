"""Network-input preprocessing, shared by inference (:class:`~featherpose.inference.PoseEstimator`)
and deployment (INT8 calibration, export sizes): input normalisation, top-down person crops,
bottom-up resize-and-pad, input sizes, and the 2x3 affine helpers they are built from.

Every function returns the 2x3 matrix taking image pixels to network-input pixels, so that the
decoded keypoints can be mapped back exactly. Imports nothing above :mod:`featherpose.data`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from featherpose.data.transforms import Normalisation, box_to_center_scale, get_warp_matrix  # noqa: F401 (re-export)


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


def parse_input_size(value: int | str | Sequence[int] | None, default: tuple[int, int]) -> tuple[int, int]:
    """``256`` / ``"256"`` (height; width keeps the model's aspect ratio), ``"256x192"`` or (256, 192)."""
    if value is None:
        return default
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"input size must be H or HxW, got {value!r}") from None
    elif isinstance(value, int):
        nums = [value]
    else:
        nums = [int(v) for v in value]
    if len(nums) == 1:
        nums = [nums[0], round(nums[0] * default[1] / default[0])]
    if len(nums) != 2 or min(nums) <= 0:
        raise ValueError(f"input size must be H or HxW with positive numbers, got {value!r}")
    return nums[0], nums[1]


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


def fit_image(
    image: np.ndarray, input_size: tuple[int, int], flip: bool = False, canvas: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bottom-up input: scale keeping the aspect ratio so the image fits ``input_size`` (H, W),
    top-left aligned, zero padding right / bottom (up to ``canvas`` (H, W) when given: the batch's
    common size); mirrored when ``flip`` (about the canvas).

    The very warp the training samples use (``featherpose.data.transforms.fit_matrix`` and one
    bilinear ``cv2.warpAffine``, as ``BottomUpDataset`` without augmentation), so that a network sees
    at test time the pixels it was trained on (docs/evaluation.md, "One prediction path").
    Returns the (H, W, 3) input and the 2x3 image-to-input matrix.
    """
    from featherpose.data.transforms import fit_matrix, warp_image

    h, w = image.shape[:2]
    m32, _ = fit_matrix(w, h, (int(input_size[0]), int(input_size[1])))
    out_size = (int(input_size[0]), int(input_size[1])) if canvas is None else (int(canvas[0]), int(canvas[1]))
    out = warp_image(image, m32, out_size)
    m = m32.astype(np.float64)
    if flip:
        out = np.ascontiguousarray(out[:, ::-1])
        m = compose(np.array([[-1.0, 0.0, out_size[1] - 1.0], [0.0, 1.0, 0.0]]), m)
    return out, m


# Bottom-up test scale (docs/evaluation.md, "Test scale, flip, decoder, pose score per family"):
# "fit": the long side into the (square) input, as every training sample is warped; "short_side":
# the short side resized to the input size, the long side following (LitePose / HigherHRNet);
# "height": the height resized to the input height, the width following (Lightweight OpenPose, 368).
TEST_SCALES = ("fit", "short_side", "height")
FAMILY_TEST_SCALE = {"litepose": "short_side", "wlitepose": "short_side", "openpose": "height"}


def family_test_scale(family: str) -> str:
    """The test scale the papers of ``family`` evaluate bottom-up models at (``fit`` otherwise)."""
    return FAMILY_TEST_SCALE.get(family, "fit")


def check_test_scale(rule: str) -> str:
    if rule not in TEST_SCALES:
        raise ValueError(f"test_scale must be one of {TEST_SCALES}, got {rule!r}")
    return rule


def test_scale_size(image_hw: Sequence[int], input_size: Sequence[int], rule: str, divisor: int) -> tuple[int, int]:
    """The bottom-up network input (H, W) for one image of ``image_hw`` under ``rule``: ``fit`` ->
    ``input_size``; ``short_side`` -> the short side = min(``input_size``), ``height`` -> the height
    = ``input_size[0]``, the other side following the image's aspect ratio; both rounded up to
    ``divisor``. :func:`fit_image` into this size scales by exactly that factor (up to the rounding)."""
    check_test_scale(rule)
    H, W = int(input_size[0]), int(input_size[1])  # noqa: N806
    if rule == "fit":
        return H, W
    h, w = int(image_hw[0]), int(image_hw[1])
    f = H / h if rule == "height" else min(H, W) / min(h, w)

    def up(v: float) -> int:
        return max(divisor, int(-(-round(v) // divisor) * divisor))

    return up(h * f), up(w * f)


test_scale_size.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


def scaled_size(input_size: Sequence[int], scale: float, divisor: int) -> tuple[int, int]:
    """``input_size`` x ``scale`` rounded up to a multiple of ``divisor`` (the network's stride)."""
    return tuple(int(-(-round(s * scale) // divisor) * divisor) for s in input_size)  # type: ignore[return-value]
