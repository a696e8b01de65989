"""Associative embedding (Newell et al.; HigherHRNet / LitePose): heatmaps + one tag per keypoint,
grouped by Hungarian matching of tags, with multi-resolution heatmap aggregation (paper 004)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from featherpose.codecs.base import with_input_size
from featherpose.codecs.common import (
    MultiPersonPoses,
    find_peaks,
    gaussian_maps,
    refine_log_parabola,
    resize_maps,
    to_numpy,
)
from featherpose.skeletons import COCO17, KeypointSet


class AssociativeEmbeddingCodec:
    """Heatmaps at every stride in ``strides`` (LitePose: 4 and 2) and tags at ``tag_stride``.

    A heatmap pixel ``u`` at stride ``s`` covers input pixel ``(u + 0.5) * s - 0.5``; ``sigma``
    is in heatmap pixels at each resolution. Decoding resizes every heatmap (and the tags) to the
    finest resolution and averages them, keeps the top ``max_people`` NMS peaks per keypoint, and
    assigns them to persons joint by joint with the Hungarian algorithm on tag distance.
    """

    name = "ae"
    paradigm = "bottom-up"
    udp = False
    divisor = 32  # the LitePose backbones' output stride: inputs are multiples of it

    def __init__(
        self,
        input_size: tuple[int, int] = (256, 256),
        strides: Sequence[int] = (4, 2),
        tag_stride: int = 4,
        sigma: float = 2.0,
        max_people: int = 30,
        detection_threshold: float = 0.1,
        tag_threshold: float = 1.0,
        nms_kernel: int = 5,
        keypoint_set: KeypointSet = COCO17,
    ) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.strides = tuple(int(s) for s in strides)
        self.tag_stride = int(tag_stride)
        self.sigma = float(sigma)
        self.max_people, self.detection_threshold = max_people, detection_threshold
        self.tag_threshold, self.nms_kernel = tag_threshold, nms_kernel
        self.keypoint_set = keypoint_set

    def prepare_keypoints(self, keypoints: np.ndarray, keypoint_set: KeypointSet) -> np.ndarray:
        if keypoint_set.num_keypoints != self.keypoint_set.num_keypoints:
            raise ValueError(f"codec expects {self.keypoint_set.num_keypoints} keypoints, got {keypoint_set.name}")
        return np.asarray(keypoints, np.float32)

    # -- the codec contract (codecs/base.py) -------------------------------------------------
    @property
    def stride(self) -> int:
        return self.strides[0]

    def adopt_keypoint_set(self, keypoint_set: KeypointSet) -> None:
        self.keypoint_set = keypoint_set

    def render_outputs(self, keypoints: np.ndarray) -> list[np.ndarray]:
        """Keypoints (P, K, 3) -> [heatmaps + ideal tags (2K, H/4, W/4), heatmaps at the other strides]."""
        enc = self.encode(keypoints)
        return [np.concatenate([enc["heatmaps"][0], self.render_tags(keypoints)]), *enc["heatmaps"][1:]]

    def split(self, outputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """LitePose outputs: (N, 2K, H/4, W/4) heatmaps + tags, optionally (N, K, H/2, W/2) heatmaps."""
        k = self.keypoint_set.num_keypoints
        quarter = next((o for o in outputs if o.ndim == 4 and o.shape[1] == 2 * k), None)
        if quarter is None:
            raise ValueError(f"expected an (N, {2 * k}, h, w) heatmaps+tags output, got {[o.shape for o in outputs]}")
        maps = {"heatmaps": quarter[:, :k], "tags": quarter[:, k:]}
        half = next((o for o in outputs if o.ndim == 4 and o.shape[1] == k and o.shape[2] > quarter.shape[2]), None)
        if half is not None:
            maps["heatmaps_half"] = half
        return maps

    def unflip(self, maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        perm = self.keypoint_set.flip_index
        return {key: m[:, perm] for key, m in maps.items()}

    def at_size(
        self,
        input_size: tuple[int, int],
        map_size: tuple[int, int] | None = None,  # noqa: ARG002 (the strides fix the map sizes)
    ) -> AssociativeEmbeddingCodec:
        return with_input_size(self, input_size)

    def map_size(self, stride: int) -> tuple[int, int]:
        return self.input_size[0] // stride, self.input_size[1] // stride

    @staticmethod
    def _to_map(xy: np.ndarray, stride: int) -> np.ndarray:
        return (np.asarray(xy, np.float32) + 0.5) / stride - 0.5

    # -- encode ------------------------------------------------------------------------------
    def encode(self, keypoints: np.ndarray, mask: np.ndarray | None = None) -> dict[str, object]:
        """Keypoints (P, K, 3) in the input frame (+ optional (H, W) mask, 1 = use) ->
        ``heatmaps`` / ``masks``: lists with one (K, h, w) / (h, w) array per stride, and
        ``joints`` (P, K, 2) int64: flat index into the tag map and a visible flag (the
        pull/push tag loss reads the tags there)."""
        k = self.keypoint_set.num_keypoints
        kp = np.asarray(keypoints, np.float32).reshape(-1, k, 3)
        heatmaps, masks = [], []
        for s in self.strides:
            h, w = self.map_size(s)
            uv = self._to_map(kp[..., :2], s)
            inside = (uv[..., 0] >= 0) & (uv[..., 1] >= 0) & (uv[..., 0] <= w - 1) & (uv[..., 1] <= h - 1)
            vis = (kp[..., 2] > 0) & inside
            g = gaussian_maps(uv, np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32), self.sigma)
            g *= vis[..., None, None]
            heatmaps.append(g.max(0) if len(kp) else np.zeros((k, h, w), np.float32))
            if mask is None:
                masks.append(np.ones((h, w), np.float32))
            else:
                m = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
                masks.append((m > 0.5).astype(np.float32))
        th, tw = self.map_size(self.tag_stride)
        uv = np.round(self._to_map(kp[..., :2], self.tag_stride)).astype(np.int64)
        inside = (uv[..., 0] >= 0) & (uv[..., 1] >= 0) & (uv[..., 0] < tw) & (uv[..., 1] < th)
        vis = (kp[..., 2] > 0) & inside
        joints = np.stack([np.where(vis, uv[..., 1] * tw + uv[..., 0], 0), vis.astype(np.int64)], -1)
        return {"heatmaps": heatmaps, "masks": masks, "joints": joints}

    def render_tags(self, keypoints: np.ndarray, identities: Sequence[float] | None = None) -> np.ndarray:
        """Ideal tag maps (K, h, w) at ``tag_stride``: each pixel takes the identity of the nearest
        labelled keypoint of that channel (what a perfectly trained network would output)."""
        k = self.keypoint_set.num_keypoints
        kp = np.asarray(keypoints, np.float32).reshape(-1, k, 3)
        ids = np.arange(1, len(kp) + 1, dtype=np.float32) if identities is None else np.asarray(identities, np.float32)
        th, tw = self.map_size(self.tag_stride)
        tags = np.zeros((k, th, tw), np.float32)
        if not len(kp):
            return tags
        uv = self._to_map(kp[..., :2], self.tag_stride)
        xs, ys = np.arange(tw, dtype=np.float32), np.arange(th, dtype=np.float32)
        d2 = (xs[None, None, None, :] - uv[..., 0, None, None]) ** 2 + (
            ys[None, None, :, None] - uv[..., 1, None, None]
        ) ** 2
        d2 = np.where((kp[..., 2] > 0)[..., None, None], d2, np.inf)  # (P, K, h, w)
        nearest = d2.argmin(0)
        has = np.isfinite(d2.min(0))
        tags[has] = ids[nearest[has]]
        return tags

    # -- decode ------------------------------------------------------------------------------
    def aggregate(self, heatmaps: object | Sequence[object]) -> np.ndarray:
        """Average heatmaps of several resolutions at the finest one -> (N, K, h, w)."""
        maps = [to_numpy(m, 4) for m in (heatmaps if isinstance(heatmaps, list | tuple) else [heatmaps])]
        size = max((m.shape[-2:] for m in maps), key=lambda s: s[0] * s[1])
        total = np.zeros(maps[0].shape[:2] + tuple(size), np.float32)
        for m in maps:
            if m.shape[-2:] != size:
                n, c = m.shape[:2]
                m = resize_maps(m.reshape(n * c, *m.shape[-2:]), size, cv2.INTER_LINEAR).reshape(n, c, *size)
            total += m
        return total / len(maps)

    def decode(self, heatmaps: object | Sequence[object], tags: object = None) -> list[MultiPersonPoses]:
        """Heatmaps (N, K, h, w) — or a list of them at several resolutions — and tags
        (N, K, h', w'), numpy or torch -> one :class:`MultiPersonPoses` per image (input frame).
        ``split``'s dict alone: every heatmap resolution in it is used (not only ``strides``)."""
        if isinstance(heatmaps, Mapping):
            maps = heatmaps
            heatmaps = [maps["heatmaps"]] + ([maps["heatmaps_half"]] if "heatmaps_half" in maps else [])
            tags = maps["tags"]
        agg = self.aggregate(heatmaps)
        tg = to_numpy(tags, 4)
        n, k, h, w = agg.shape
        stride = self.tag_stride * tg.shape[-2] / h  # the finest map's stride, from the tags' size
        if tg.shape[-2:] != (h, w):
            tg = resize_maps(tg.reshape(-1, *tg.shape[-2:]), (h, w), cv2.INTER_LINEAR).reshape(tg.shape[0], k, h, w)
        return [self._decode_one(agg[i], tg[i], stride) for i in range(n)]

    def _decode_one(self, heat: np.ndarray, tag: np.ndarray, stride: float) -> MultiPersonPoses:
        k = heat.shape[0]
        ch, py, px = find_peaks(heat, self.detection_threshold, self.nms_kernel)
        val = heat[ch, py, px]
        # top max_people peaks per keypoint
        order = np.lexsort((-val, ch))
        ch, py, px, val = ch[order], py[order], px[order], val[order]
        rank = np.arange(len(ch)) - np.searchsorted(ch, ch)
        keep = rank < self.max_people
        ch, py, px, val = ch[keep], py[keep], px[keep], val[keep]
        xy = np.stack([px, py], -1).astype(np.float32) + refine_log_parabola(heat, ch, py, px)
        tv = tag[ch, py, px]
        ids = self._group(ch, tv, val, k)
        if not len(ids):
            return MultiPersonPoses.empty(k)
        found = ids >= 0
        kps = np.where(found[..., None], xy[np.maximum(ids, 0)], 0.0)
        kps = (kps + 0.5) * stride - 0.5
        kps[~found] = 0.0
        ksc = np.where(found, np.clip(val[np.maximum(ids, 0)], 0.0, 1.0), 0.0)
        score = ksc.mean(1)
        top = np.argsort(-score, kind="stable")[: self.max_people]
        return MultiPersonPoses(kps[top].astype(np.float32), ksc[top].astype(np.float32), score[top].astype(np.float32))

    def _group(self, ch: np.ndarray, tv: np.ndarray, val: np.ndarray, k: int) -> np.ndarray:
        """Assign peaks to persons joint by joint: Hungarian on (rounded tag distance to each
        person's mean tag x 100 - peak value); unmatched peaks start persons -> (P, K) peak ids."""
        ids = np.zeros((0, k), np.int64)
        tag_sum, tag_n = np.zeros(0, np.float32), np.zeros(0, np.float32)  # float32 as the tags
        for j in range(k):
            cand = np.nonzero(ch == j)[0]
            if not len(cand):
                continue
            taken = np.zeros(len(cand), bool)
            if len(ids):
                diff = np.abs(tv[cand][:, None] - (tag_sum / tag_n)[None, :])
                cost = np.round(diff) * 100.0 - val[cand][:, None]
                free = ids[:, j] < 0
                cost[:, ~free] = 1e10
                rows, cols = linear_sum_assignment(cost)
                ok = free[cols] & (diff[rows, cols] < self.tag_threshold)
                rows, cols = rows[ok], cols[ok]
                ids[cols, j] = cand[rows]
                tag_sum[cols] += tv[cand[rows]]
                tag_n[cols] += 1
                taken[rows] = True
            new = cand[~taken]
            block = np.full((len(new), k), -1, np.int64)
            block[:, j] = new
            ids = np.concatenate([ids, block])
            tag_sum, tag_n = np.concatenate([tag_sum, tv[new]]), np.concatenate([tag_n, np.ones(len(new), np.float32)])
        return ids
