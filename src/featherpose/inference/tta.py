"""Test-time augmentation: the views of an input (``scales`` x ``flip``) and the merge of the views'
output maps into the first (base) view's map frame. A flipped view's maps are unflipped through the
codec contract's ``unflip``; every other view is warped into the base frame through its input
affine, then the views are averaged. Top-down views are crops of person boxes, bottom-up views
whole images fitted into the network input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from featherpose.codecs import Codec
from featherpose.io import LoadedImage
from featherpose.preprocess import crop_matrices, warp_crops

from .maps import compose, inverse, pixel_scale, warp_maps

View = tuple[float, bool]  # (scale, flip)


@dataclass(frozen=True)
class TestTimeAugmentation:
    """``scales``: box (top-down) or image (bottom-up) scale factors; ``flip``: also every scale
    mirrored. The first view, ``(scales[0], False)``, is the base frame the maps are merged in."""

    __test__ = False  # not a pytest test class

    scales: tuple[float, ...] = (1.0,)
    flip: bool = False

    def __post_init__(self) -> None:
        if not self.scales or min(self.scales) <= 0:
            raise ValueError(f"scales must be positive numbers, got {self.scales!r}")
        object.__setattr__(self, "scales", tuple(float(s) for s in self.scales))
        object.__setattr__(self, "flip", bool(self.flip))

    @property
    def views(self) -> list[View]:
        """All (scale, flip) views, unflipped first."""
        flips = (False, True) if self.flip else (False,)
        return [(s, f) for f in flips for s in self.scales]

    # -- top-down ------------------------------------------------------------------------------
    def topdown_crops(
        self, frames: Sequence[LoadedImage], box_sets: Sequence[tuple[np.ndarray, np.ndarray]],
        input_size: tuple[int, int], udp: bool, padding: float,
    ) -> tuple[np.ndarray, np.ndarray, list[dict]]:  # fmt: skip
        """The crops of every box of every image in every view: (V, P, 2, 3) image-to-input affines,
        the (V * P, H, W, 3) crops (view-major) and per crop its geometry (``image``, ``box``,
        ``matrix``, ``flip``)."""
        views, counts = self.views, [len(b) for b, _ in box_sets]
        mats, crops = [], []
        for scale, flip in views:
            for frame, (b, _) in zip(frames, box_sets, strict=True):
                if len(b):
                    m = crop_matrices(b, input_size, scale, flip, udp, padding)
                    mats.append(m)
                    crops.append(warp_crops(frame.pixels, m, input_size))
        matrices = np.concatenate(mats).reshape(len(views), sum(counts), 2, 3)
        starts = np.cumsum([0, *counts[:-1]])
        geometry = [{"image": i, "box": j, "matrix": matrices[v, starts[i] + j], "flip": flip}
                    for v, (_, flip) in enumerate(views)
                    for i in range(len(counts)) for j in range(counts[i])]  # fmt: skip
        return matrices, np.concatenate(crops), geometry

    def merge_topdown(self, codec: Codec, heatmaps: np.ndarray, matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(V * P, K, h, w) heatmaps of all views -> (P, K, h, w) merged in the base view's heatmap
        frame, and the input-to-heatmap 2x3 scale (``codec``: at the input and heatmap size)."""
        views = self.views
        h, w = heatmaps.shape[-2:]
        heatmaps = heatmaps.reshape(len(views), matrices.shape[1], -1, h, w)
        sx, sy = codec.to_heatmap(np.ones(2, np.float32))
        s_mat = np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]])
        merged = heatmaps[0].copy()
        for v in range(1, len(views)):
            hv = codec.unflip({"heatmaps": heatmaps[v]})["heatmaps"] if views[v][1] else heatmaps[v]
            for p in range(matrices.shape[1]):
                to_v = compose(s_mat, matrices[v, p], inverse(matrices[0, p]), inverse(s_mat))
                merged[p] += warp_maps(hv[p], to_v, (h, w))
        merged /= len(views)
        return merged, s_mat

    # -- bottom-up -----------------------------------------------------------------------------
    def merge_bottomup(
        self, per_view: Sequence[tuple[dict[str, np.ndarray], np.ndarray, tuple[int, int]]]
    ) -> dict[str, np.ndarray]:
        """Per view (in :attr:`views` order): its maps (already unflipped), the (N, 2, 3)
        image-to-input affines and the input size -> the maps merged in the base view's frame."""
        base, base_mats, base_size = per_view[0]
        merged = {k: v.copy() for k, v in base.items()}
        for maps, mats, size in per_view[1:]:
            for key, arr in maps.items():
                h, w = base[key].shape[-2:]
                t0 = pixel_scale(w / base_size[1], h / base_size[0])
                tv = pixel_scale(arr.shape[-1] / size[1], arr.shape[-2] / size[0])
                for i in range(len(mats)):
                    to_v = compose(tv, mats[i], inverse(base_mats[i]), inverse(t0))
                    merged[key][i] += warp_maps(arr[i], to_v, (h, w))
        for key in merged:
            merged[key] /= len(per_view)
        return merged
