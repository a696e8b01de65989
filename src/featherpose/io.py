"""Image input for inference: file paths, numpy arrays and PIL images -> (H, W, 3) uint8 BGR.

Every expected failure raises :class:`InputError` (a ``ValueError``) whose message is one line
naming the input and the problem, e.g. ``photo.jpg: truncated or corrupt image data``.

Limits (module constants, documented in docs/inference.md):

* ``MAX_PIXELS`` (40 megapixels): the image size is read from the file header *before* decoding
  (PIL's lazy open). A larger JPEG is decoded at 1/2, 1/4 or 1/8 resolution with OpenCV's
  ``IMREAD_REDUCED_COLOR_*`` (libjpeg scaled decoding, so the full image never exists in memory);
  any other larger image is refused. :func:`open_image` returns the reduction factor so that
  callers can map coordinates back to the original pixels.
* ``MIN_SIDE`` (8 pixels): smaller images (e.g. 1x1) are refused; nothing can be found in them.

Conversions: grayscale -> BGR, alpha dropped (RGBA -> BGR), 16-bit -> 8-bit (high byte), EXIF
orientation applied (OpenCV's default).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000
MIN_SIDE = 8
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}

ImageInput = str | Path | np.ndarray | Image.Image


class InputError(ValueError):
    """An input (image, video, boxes file) that cannot be used; the message is one line."""

    def __init__(self, source: object, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def describe(image: object) -> str:
    """A short name for an input, for messages: the path, or the kind of in-memory object."""
    if isinstance(image, str | Path):
        return str(image)
    if isinstance(image, np.ndarray):
        return f"<array {image.shape} {image.dtype}>"
    if isinstance(image, Image.Image):
        return f"<PIL image {image.size[0]}x{image.size[1]} {image.mode}>"
    return f"<{type(image).__name__}>"


def image_header(path: str | Path) -> tuple[int, int, str]:
    """(width, height, format) from the file header without decoding the pixels.

    Raises :class:`InputError` for a missing, empty, unreadable or unrecognised file.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(p, "is a directory, not an image")
    if not p.exists():
        raise InputError(p, "file not found")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise InputError(p, "empty file (0 bytes)")
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, after reading only the header
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(p) as im:
                return int(im.size[0]), int(im.size[1]), str(im.format or "")
    except UnidentifiedImageError:
        raise InputError(p, "not an image (unrecognised file format)") from None
    except PermissionError:
        raise InputError(p, "cannot be read (permission denied)") from None
    except (OSError, SyntaxError, ValueError) as exc:  # PIL raises these for broken headers
        raise InputError(p, f"corrupt image header ({exc})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old


def _reduction(width: int, height: int, fmt: str, max_pixels: int, source: object) -> int:
    """The smallest JPEG reduction factor (1, 2, 4, 8) that fits ``max_pixels``; refuse otherwise."""
    pixels = width * height
    if pixels <= max_pixels:
        return 1
    too_big = f"image is {width}x{height} ({pixels / 1e6:.1f} MP), above the {max_pixels / 1e6:.1f} MP limit"
    if fmt.upper() in ("JPEG", "MPO"):
        for f in (2, 4, 8):
            if -(-width // f) * -(-height // f) <= max_pixels:
                return f
        raise InputError(source, f"{too_big} even at 1/8 resolution")
    raise InputError(source, f"{too_big} (only JPEG can be decoded reduced); downscale it first")


def _check_size(img: np.ndarray, source: object) -> None:
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise InputError(source, f"zero-size image ({w}x{h})")
    if min(h, w) < MIN_SIDE:
        raise InputError(source, f"image is only {w}x{h} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed")


def _read_file(path: str | Path, max_pixels: int) -> tuple[np.ndarray, tuple[float, float]]:
    p = Path(path)
    width, height, fmt = image_header(p)
    if width == 0 or height == 0:
        raise InputError(p, f"zero-size image ({width}x{height})")
    factor = _reduction(width, height, fmt, max_pixels, p)
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as exc:
        raise InputError(p, f"cannot be read ({exc.strerror or exc})") from None
    img = cv2.imdecode(data, _REDUCED[factor] if factor > 1 else cv2.IMREAD_COLOR)
    # A JPEG always ends with an EOI marker (FF D9), which cannot occur inside entropy-coded data:
    # older OpenCV versions return a half-grey image for a truncated JPEG instead of None.
    if img is None or (fmt.upper() == "JPEG" and b"\xff\xd9" not in data.tobytes()):
        raise InputError(p, f"truncated or corrupt image data ({fmt or 'unknown'} {width}x{height})")
    _check_size(img, p)
    h, w = img.shape[:2]
    if (w > h) != (width > height) and w != h:  # EXIF orientation swapped the axes
        width, height = height, width
    return img, (width / w, height / h)


def _from_array(arr: np.ndarray, color: str, source: object) -> np.ndarray:
    if arr.size == 0:
        raise InputError(source, f"zero-size image array {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputError(source, f"expected an (H, W), (H, W, 3) or (H, W, 4) image array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InputError(source, "image array contains NaN or infinite values")
        scale = 255.0 if float(arr.max(initial=0.0)) <= 1.0 else 1.0
        arr = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    elif arr.dtype == bool or arr.dtype.kind not in "ui":
        raise InputError(source, f"unsupported image dtype {arr.dtype}")
    else:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    _check_size(arr, source)
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR if color == "rgb" else cv2.COLOR_BGRA2BGR)
    if color == "rgb":
        return cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(arr)


def _from_pil(im: Image.Image, max_pixels: int, source: object) -> np.ndarray:
    w, h = im.size
    if w * h > max_pixels:
        raise InputError(source, f"image is {w}x{h} ({w * h / 1e6:.1f} MP), above the {max_pixels / 1e6:.1f} MP limit")
    try:
        if im.mode.startswith("I;16") or im.mode in ("I", "F"):
            arr = np.asarray(im)
            arr = arr.astype(np.float32) / (257.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 1.0)
            return _from_array(np.clip(arr, 0, 255).astype(np.uint8), "rgb", source)
        return _from_array(np.asarray(im.convert("RGB")), "rgb", source)
    except OSError as exc:  # a lazily-opened PIL image whose data is broken
        raise InputError(source, f"truncated or corrupt image data ({exc})") from None


@dataclass
class LoadedImage:
    """Decoded pixels (H, W, 3) uint8 BGR, where they came from, and the (x, y) factor from these
    pixels to the original ones (1.0 unless a large JPEG was decoded reduced):
    ``x_original = (x + 0.5) * scale[0] - 0.5``."""

    pixels: np.ndarray
    source: str
    scale: tuple[float, float] = (1.0, 1.0)

    @property
    def reduced(self) -> bool:
        return self.scale != (1.0, 1.0)


def open_image(image: ImageInput | LoadedImage, color: str = "bgr", max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Like :func:`load_image`, keeping the source name and the reduction factor."""
    if isinstance(image, LoadedImage):
        return image
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    source = describe(image)
    if isinstance(image, str | Path):
        pixels, scale = _read_file(image, max_pixels)
        return LoadedImage(pixels, source, scale)
    if isinstance(image, Image.Image):
        return LoadedImage(_from_pil(image, max_pixels, source), source)
    if isinstance(image, np.ndarray):
        if image.ndim >= 2 and image.shape[0] * image.shape[1] > max_pixels:
            raise InputError(source, f"image array is above the {max_pixels / 1e6:.1f} MP limit")
        return LoadedImage(_from_array(image, color, source), source)
    raise InputError(source, "expected a file path, a numpy array or a PIL image")


def load_image(image: ImageInput, color: str = "bgr", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Load an image as a contiguous (H, W, 3) uint8 **BGR** array (OpenCV order).

    ``image``: a path (decoded with OpenCV), a PIL image (any mode; RGB by nature), or a numpy
    array — (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); uint8, uint16 (high byte kept) or float
    (values in [0, 1] are scaled by 255). Arrays are taken as **BGR** (what ``cv2.imread`` gives);
    pass ``color="rgb"`` for RGB(A) arrays (what PIL / matplotlib / imageio give).
    Raises :class:`InputError` with a one-line message for every unusable input.
    """
    return open_image(image, color, max_pixels).pixels


__all__ = ["MAX_PIXELS", "MIN_SIDE", "ImageInput", "InputError", "LoadedImage", "describe", "image_header",
           "load_image", "open_image"]  # fmt: skip
