"""Top-down Gaussian heatmaps (MSRA / SimpleBaseline style) with argmax, quarter-pixel, DARK and UDP decoding."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from featherpose.codecs.common import gaussian_maps, to_numpy
from featherpose.skeletons import KeypointSet

REFINES = ("none", "quarter", "dark")


class HeatmapCodec:
    """One Gaussian heatmap per keypoint for a single-person crop.

    ``input_size`` and ``heatmap_size`` are (H, W). Coordinates: with ``udp=False`` a heatmap
    pixel ``u`` is input pixel ``u * stride`` (stride = input / heatmap); with ``udp=True`` the
    mapping uses ``(size - 1)`` scaling (Huang et al., unbiased data processing), which the
    affine crop must share (``get_warp_matrix(..., udp=True)``). ``unbiased=True`` centres the
    Gaussian at the exact sub-pixel position (DARK encoding) instead of the rounded one (MSRA).
    ``refine`` picks the decoder: ``"none"`` (argmax), ``"quarter"`` (quarter-pixel shift toward
    the higher neighbour) or ``"dark"`` (Taylor expansion on the log of the blurred heatmap).
    ``keypoint_set``: the keypoints of the K maps (the data's; needed by ``split`` / ``unflip``).
    """

    name = "heatmap"
    paradigm = "top-down"
    divisor = 32  # the backbones' output stride: top-down inputs are multiples of it

    def __init__(
        self,
        input_size: tuple[int, int] = (256, 192),
        heatmap_size: tuple[int, int] | None = None,
        sigma: float = 2.0,
        refine: str = "quarter",
        unbiased: bool = False,
        udp: bool = False,
        blur_kernel: int = 11,
        keypoint_set: KeypointSet | None = None,
    ) -> None:
        if refine not in REFINES:
            raise ValueError(f"refine must be one of {REFINES}, got {refine!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = tuple(heatmap_size) if heatmap_size else (self.input_size[0] // 4, self.input_size[1] // 4)
        self.sigma = float(sigma)
        self.refine = refine
        self.unbiased = unbiased or udp
        self.udp = udp
        self.blur_kernel = blur_kernel | 1
        self.keypoint_set = keypoint_set

    # -- the codec contract (codecs/base.py) -------------------------------------------------
    @property
    def stride(self) -> int:
        return max(1, self.input_size[0] // self.heatmap_size[0])

    def adopt_keypoint_set(self, keypoint_set: KeypointSet) -> None:
        self.keypoint_set = keypoint_set

    def prepare_keypoints(self, keypoints: np.ndarray, keypoint_set: KeypointSet) -> np.ndarray:
        if self.keypoint_set is not None and keypoint_set.num_keypoints != self.keypoint_set.num_keypoints:
            raise ValueError(f"codec expects {self.keypoint_set.num_keypoints} keypoints, got {keypoint_set.name}")
        return np.asarray(keypoints, np.float32)

    def render_outputs(self, keypoints: np.ndarray) -> list[np.ndarray]:
        """One person's keypoints (K, 3) -> [heatmaps (K, h, w)]."""
        return [self.encode(keypoints)[0]]

    def split(self, outputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """The (N, K, h, w) heatmap output."""
        k = None if self.keypoint_set is None else self.keypoint_set.num_keypoints
        maps = next((o for o in outputs if o.ndim == 4 and (k is None or o.shape[1] == k)), None)
        if maps is None:
            shapes = [o.shape for o in outputs]
            raise ValueError(f"expected an (N, {k or 'K'}, h, w) heatmap output, got {shapes}")
        return {"heatmaps": maps}

    def unflip(self, maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.keypoint_set is None:
            raise ValueError("unflip needs the codec's keypoint_set (adopt_keypoint_set)")
        return {"heatmaps": maps["heatmaps"][:, self.keypoint_set.flip_index]}

    def at_size(self, input_size: tuple[int, int], map_size: tuple[int, int] | None = None) -> HeatmapCodec:
        size = (int(input_size[0]), int(input_size[1]))
        if map_size:
            hm = (int(map_size[0]), int(map_size[1]))
        elif size == self.input_size:
            hm = tuple(self.heatmap_size)
        else:  # the same input / heatmap ratio
            hm = (size[0] // self.stride, size[1] // self.stride)
        if size == self.input_size and hm == tuple(self.heatmap_size):
            return self
        out = copy.copy(self)
        out.input_size, out.heatmap_size = size, hm
        return out

    # -- coordinate frames -------------------------------------------------------------------
    def _scale(self) -> np.ndarray:
        """Heatmap pixels per input pixel, (x, y)."""
        (ih, iw), (hh, hw) = self.input_size, self.heatmap_size
        if self.udp:
            return np.array([(hw - 1) / max(iw - 1, 1), (hh - 1) / max(ih - 1, 1)], np.float32)
        return np.array([hw / iw, hh / ih], np.float32)

    def to_heatmap(self, xy: np.ndarray) -> np.ndarray:
        """Input-frame points (..., 2) -> heatmap-frame points."""
        return np.asarray(xy, np.float32) * self._scale()

    def to_input(self, uv: np.ndarray) -> np.ndarray:
        """Heatmap-frame points (..., 2) -> input-frame points."""
        return np.asarray(uv, np.float32) / self._scale()

    # -- encode ------------------------------------------------------------------------------
    def encode(self, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (K, 3) or (P, K, 3) in the input frame (x, y, visibility) -> heatmaps
        (.., K, h, w) float32 and weights (.., K) (0 for unlabeled or off-map keypoints)."""
        kp = np.asarray(keypoints, np.float32)
        single = kp.ndim == 2
        kp = kp[None] if single else kp
        hh, hw = self.heatmap_size
        mu = self.to_heatmap(kp[..., :2])
        if not self.unbiased:
            mu = np.floor(mu + 0.5)
        r = 3.0 * self.sigma
        inside = (mu[..., 0] + r >= 0) & (mu[..., 1] + r >= 0) & (mu[..., 0] - r < hw) & (mu[..., 1] - r < hh)
        weights = ((kp[..., 2] > 0) & inside).astype(np.float32)
        xs, ys = np.arange(hw, dtype=np.float32), np.arange(hh, dtype=np.float32)
        maps = gaussian_maps(mu, xs, ys, self.sigma) * weights[..., None, None]
        if not self.unbiased:  # MSRA: the Gaussian is a (6 sigma + 1)^2 patch
            far = (np.abs(xs[None, None, None, :] - mu[..., 0, None, None]) > r) | (
                np.abs(ys[None, None, :, None] - mu[..., 1, None, None]) > r
            )
            maps[far] = 0.0
        return (maps[0], weights[0]) if single else (maps, weights)

    # -- decode ------------------------------------------------------------------------------
    def decode(self, heatmaps: object) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps (N, K, h, w) (numpy or torch; (K, h, w) also accepted; or ``split``'s dict) ->
        keypoints (N, K, 2) in the input frame and scores (N, K) (the heatmap maximum, clipped to [0, 1])."""
        if isinstance(heatmaps, Mapping):
            heatmaps = heatmaps["heatmaps"]
        hm = to_numpy(heatmaps, 4)
        n, k, h, w = hm.shape
        flat = hm.reshape(n, k, -1)
        idx = flat.argmax(-1)
        maxval = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
        uv = np.stack([idx % w, idx // w], -1).astype(np.float32)
        if self.refine == "quarter":
            uv += self._quarter(hm, uv.astype(np.int64))
        elif self.refine == "dark":
            uv += self._dark(hm, uv.astype(np.int64))
        uv[..., 0] = np.clip(uv[..., 0], 0, w - 1)
        uv[..., 1] = np.clip(uv[..., 1], 0, h - 1)
        if (h, w) != tuple(self.heatmap_size):  # decode at whatever size arrived
            scale = self._scale() * np.array([w / self.heatmap_size[1], h / self.heatmap_size[0]], np.float32)
            xy = uv / scale
        else:
            xy = self.to_input(uv)
        xy[maxval <= 0] = 0.0
        return xy.astype(np.float32), np.clip(maxval, 0.0, 1.0).astype(np.float32)

    @staticmethod
    def _quarter(hm: np.ndarray, p: np.ndarray) -> np.ndarray:
        n, k, h, w = hm.shape
        ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
        x, y = p[..., 0], p[..., 1]
        xl, xr = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
        yu, yd = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
        dx = np.where((x > 0) & (x < w - 1), hm[ni, ki, y, xr] - hm[ni, ki, y, xl], 0.0)
        dy = np.where((y > 0) & (y < h - 1), hm[ni, ki, yd, x] - hm[ni, ki, yu, x], 0.0)
        return 0.25 * np.sign(np.stack([dx, dy], -1)).astype(np.float32)

    def _dark(self, hm: np.ndarray, p: np.ndarray) -> np.ndarray:
        """DARK: blur (keeping each map's maximum), take the log, Newton step -H^-1 g at the argmax."""
        n, k, h, w = hm.shape
        maps = hm.reshape(n * k, h, w)
        blurred = np.stack([cv2.GaussianBlur(m, (self.blur_kernel, self.blur_kernel), 0) for m in maps])
        peak = maps.reshape(n * k, -1).max(-1)
        bpeak = blurred.reshape(n * k, -1).max(-1)
        blurred *= (peak / np.where(bpeak > 0, bpeak, 1.0))[:, None, None]
        logm = np.log(np.maximum(blurred, 1e-10))
        pad = np.pad(logm, ((0, 0), (1, 1), (1, 1)), mode="edge")
        i = np.arange(n * k)
        x, y = p[..., 0].reshape(-1) + 1, p[..., 1].reshape(-1) + 1

        def at(dy: int, dx: int) -> np.ndarray:
            return pad[i, y + dy, x + dx]

        c = at(0, 0)
        gx, gy = 0.5 * (at(0, 1) - at(0, -1)), 0.5 * (at(1, 0) - at(-1, 0))
        hxx = at(0, 1) - 2 * c + at(0, -1)
        hyy = at(1, 0) - 2 * c + at(-1, 0)
        hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
        det = hxx * hyy - hxy * hxy
        ok = (det > 1e-12) & (hxx < 0) & (peak > 0)
        safe = np.where(ok, det, 1.0)
        ox = np.where(ok, -(hyy * gx - hxy * gy) / safe, 0.0)
        oy = np.where(ok, -(hxx * gy - hxy * gx) / safe, 0.0)
        off = np.clip(np.stack([ox, oy], -1), -1.0, 1.0)
        return off.reshape(n, k, 2).astype(np.float32)
