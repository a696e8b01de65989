"""Image reading with clear errors."""

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
