"""Image reading with clear errors, and a per-folder image cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from featherpose.data.errors import ImageError


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as an RGB ``uint8`` array (H, W, 3); raise :class:`ImageError` naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ImageError(p, "file not found")
    data = np.fromfile(str(p), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ImageError(p, "cannot be decoded (corrupt or not an image)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class ImageCache:
    """Reads images by file name from a folder, optionally keeping them decoded in memory (``keep``)."""

    def __init__(self, folder: str | Path, keep: bool = False) -> None:
        self.folder, self.keep = Path(folder), keep
        self._images: dict[str, np.ndarray] = {}

    def path(self, name: str) -> str:
        """The file path of image ``name``."""
        return str(self.folder / name)

    def __call__(self, name: str) -> np.ndarray:
        """RGB ``uint8`` image ``folder / name``."""
        img = self._images.get(name)
        if img is None:
            img = read_image(self.folder / name)
            if self.keep:
                self._images[name] = img
        return img


def as_image_cache(images: str | Path | ImageCache) -> ImageCache:
    """``images`` itself, or an uncached :class:`ImageCache` over the folder ``images``."""
    return images if isinstance(images, ImageCache) else ImageCache(images)
