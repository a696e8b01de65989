"""Image input: every bad input is one InputError naming the file; conversions to BGR uint8."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from featherpose.io import MAX_PIXELS, MIN_SIDE, InputError, load_image, open_image

COCO_IMAGE = "val2017/000000000139.jpg"


def _one_line(exc: pytest.ExceptionInfo, name: str) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and name in msg, msg
    return msg


def png_with_header_size(path: Path, width: int, height: int) -> Path:
    """A small real PNG whose IHDR claims ``width`` x ``height`` (CRC fixed, so the header is valid)."""
    ok, buf = cv2.imencode(".png", np.full((16, 16, 3), 127, np.uint8))
    data = bytearray(buf.tobytes())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def jpeg_with_header_size(path: Path, width: int, height: int) -> Path:
    ok, buf = cv2.imencode(".jpg", np.full((64, 64, 3), 127, np.uint8))
    data = bytearray(buf.tobytes())
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, height, width)
    path.write_bytes(bytes(data))
    return path


def test_real_image_loads_as_bgr(coco_mini):
    path = coco_mini / COCO_IMAGE
    img = load_image(path)
    assert img.dtype == np.uint8 and img.shape == (426, 640, 3) and img.flags.c_contiguous
    np.testing.assert_array_equal(img, cv2.imread(str(path)))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p, "file not found"),
        (lambda p: p.mkdir() or p, "is a directory"),
        (lambda p: _write(p, b""), "empty file"),
        (lambda p: _write(p, b"name,score\nalice,3\n"), "not an image"),
        (lambda p: _write(p, b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8), "corrupt"),
    ],
    ids=["missing", "directory", "empty", "text", "corrupt-jpeg"],
)
def test_bad_files(tmp_path, make, problem):
    path = make(tmp_path / "input.jpg")
    with pytest.raises(InputError, match=problem) as exc:
        load_image(path)
    _one_line(exc, "input.jpg")


def test_truncated_jpeg_and_png(tmp_path, coco_mini):
    data = (coco_mini / COCO_IMAGE).read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as exc:
        load_image(tmp_path / "half.jpg")
    _one_line(exc, "half.jpg")
    ok, png = cv2.imencode(".png", cv2.imread(str(coco_mini / COCO_IMAGE)))
    (tmp_path / "half.png").write_bytes(png.tobytes()[: png.size // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(tmp_path / "half.png")


def test_tiny_images_are_refused(tmp_path):
    cv2.imwrite(str(tmp_path / "dot.png"), np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(InputError, match=f"only 1x1 pixels; at least {MIN_SIDE}x{MIN_SIDE}") as exc:
        load_image(tmp_path / "dot.png")
    _one_line(exc, "dot.png")
    with pytest.raises(InputError, match="zero-size"):
        load_image(np.zeros((0, 10, 3), np.uint8))


def test_grayscale_rgba_and_16bit_files(tmp_path, coco_mini):
    bgr = cv2.imread(str(coco_mini / COCO_IMAGE))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    out = load_image(tmp_path / "gray.png")
    assert out.shape == (*gray.shape, 3)
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 2], gray)
    cv2.imwrite(str(tmp_path / "rgba.png"), np.dstack([bgr, np.full(gray.shape, 60, np.uint8)]))
    np.testing.assert_array_equal(load_image(tmp_path / "rgba.png"), bgr)  # alpha dropped
    deep = bgr.astype(np.uint16) * 257 + 7
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    np.testing.assert_array_equal(load_image(tmp_path / "deep.png"), bgr)  # 16-bit -> high byte


def test_huge_png_header_is_refused_before_decoding(tmp_path):
    path = png_with_header_size(tmp_path / "huge.png", 20000, 20000)
    with pytest.raises(InputError, match=r"20000x20000 \(400.0 MP\), above the 40.0 MP limit") as exc:
        load_image(path)
    _one_line(exc, "huge.png")


def test_huge_jpeg_is_decoded_reduced(tmp_path):
    path = jpeg_with_header_size(tmp_path / "huge.jpg", 20000, 20000)
    loaded = open_image(path)  # libjpeg decodes at 1/4: 25 MP, never the 400 MP image
    assert loaded.pixels.shape[:2] == (5000, 5000) and loaded.scale == (4.0, 4.0)
    assert loaded.pixels.shape[0] * loaded.pixels.shape[1] <= MAX_PIXELS
    with pytest.raises(InputError, match="even at 1/8 resolution"):
        load_image(jpeg_with_header_size(tmp_path / "huger.jpg", 60000, 60000))


def test_large_real_jpeg_reduced_to_the_limit(coco_mini):
    loaded = open_image(coco_mini / COCO_IMAGE, max_pixels=40_000)  # 640 x 426 -> 1/4
    assert loaded.pixels.shape == (107, 160, 3)
    assert loaded.scale == pytest.approx((4.0, 426 / 107))
    full = cv2.imread(str(coco_mini / COCO_IMAGE))
    small = cv2.resize(full, (160, 107), interpolation=cv2.INTER_AREA)
    assert np.abs(loaded.pixels.astype(int) - small).mean() < 6  # same picture, smaller


def test_arrays_and_color_order(coco_mini):
    bgr = cv2.imread(str(coco_mini / COCO_IMAGE))
    rgb = bgr[..., ::-1]
    np.testing.assert_array_equal(load_image(bgr), bgr)
    np.testing.assert_array_equal(load_image(rgb, color="rgb"), bgr)
    np.testing.assert_array_equal(load_image(bgr.astype(np.float32) / 255.0), bgr)
    np.testing.assert_array_equal(load_image(bgr.astype(np.uint16) << 8), bgr)
    gray = bgr[..., :1]
    assert load_image(gray).shape == (*bgr.shape[:2], 3)
    rgba = np.dstack([rgb, np.zeros(bgr.shape[:2], np.uint8)])
    np.testing.assert_array_equal(load_image(rgba, color="rgb"), bgr)


@pytest.mark.parametrize(
    ("array", "problem"),
    [
        (np.zeros((20, 20, 5), np.uint8), "expected an"),
        (np.zeros((20, 20, 3), bool), "unsupported image dtype"),
        (np.full((20, 20, 3), np.nan, np.float32), "NaN"),
        (np.zeros((4, 4, 3), np.uint8), "at least"),
    ],
)
def test_bad_arrays(array, problem):
    with pytest.raises(InputError, match=problem) as exc:
        load_image(array)
    _one_line(exc, "<array")


def test_pil_images(coco_mini):
    path = coco_mini / COCO_IMAGE
    bgr = cv2.imread(str(path))
    with Image.open(path) as im:
        pil_bgr = load_image(im)
        assert np.abs(pil_bgr.astype(int) - bgr).mean() < 2  # PIL's and OpenCV's JPEG decoders differ slightly
        np.testing.assert_array_equal(load_image(im.convert("RGBA")), pil_bgr)
        gray = load_image(im.convert("L"))
        np.testing.assert_array_equal(gray[..., 0], np.asarray(im.convert("L")))
    deep = Image.fromarray(np.full((16, 16), 65535, np.uint16))
    np.testing.assert_array_equal(load_image(deep), np.full((16, 16, 3), 255, np.uint8))
    with pytest.raises(InputError, match="expected a file path"):
        load_image(12345)
