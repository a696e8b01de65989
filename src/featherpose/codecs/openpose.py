"""OpenPose targets: keypoint confidence maps + part affinity fields (PAFs), and their decoder.

Decoding = peak finding (NMS, vectorised) -> PAF line-integral score for every candidate pair of
every limb (vectorised) -> grouping (``matching``): ``"global"`` (default), one conflict-aware greedy
merge over the connections of all limbs, strong ones first, then a relaxed tier that only re-joins
fragments; ``"greedy"`` (Lightweight OpenPose's per-limb greedy matching) or ``"hungarian"`` (per
limb, scipy), each followed by assembly along the limb tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from featherpose.codecs.base import with_input_size
from featherpose.codecs.common import (
    MultiPersonPoses,
    find_peaks,
    gaussian_maps,
    refine_log_parabola,
    resize_maps,
    to_numpy,
)
from featherpose.codecs.paf_grouping import (
    assemble,
    candidate_connections,
    conflict_free_groups,
    greedy_match,
    hungarian_match,
    limb_integrals,
    pair_fragments,
)
from featherpose.skeletons import COCO17, OPENPOSE18, KeypointSet, coco_to_openpose

MATCHINGS = ("greedy", "hungarian", "global")
NECK_RULES = ("both", "impute")
# PAF channels (x, y) of each OPENPOSE18 limb: the layout of CMU OpenPose, Lightweight OpenPose and Intel's
# OMZ models, which this codec uses too, so their checkpoints and featherpose-trained ones are interchangeable.
REFERENCE_PAF_CHANNELS = (
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7),
    (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
)  # fmt: skip
# median shoulder width / hip width of coco-mini persons with all four labelled (1.56, 88 persons)
SHOULDER_HIP_RATIO = 1.5


class OpenPoseCodec:
    """Heatmaps (K + 1 channels, last = background) and PAFs (2 per limb) at ``stride``.

    PAF layout: for OpenPose-18, limb ``i`` (``OPENPOSE18.limbs[i]``) lives in channels
    ``REFERENCE_PAF_CHANNELS[i]`` (x, y), the reference layout; for other keypoint sets in ``2i, 2i + 1``.

    ``sigma`` (7) is in input pixels, ``paf_width`` (1, paper 000 Table 4 "thickness") in
    heatmap pixels. A heatmap pixel ``u`` covers input pixel ``u * stride + stride / 2 - 0.5``.
    Decoded keypoints are in the input frame.

    Grouping: ``matching`` (``"global"``, ``"greedy"``, ``"hungarian"``; see the module docstring and
    docs/codecs.md for the measurements); ``relink_fraction`` (0.3, ``"global"`` only): a second tier
    accepts connections with at least this fraction of PAF samples above ``paf_min_value`` (the first
    tier needs ``paf_min_fraction``, 0.8) when they join two fragments of disjoint keypoint types;
    a value >= ``paf_min_fraction`` turns it off.
    """

    name = "openpose"
    paradigm = "bottom-up"
    udp = False

    def __init__(
        self,
        input_size: tuple[int, int] = (368, 368),
        stride: int = 8,
        sigma: float = 7.0,
        paf_width: float = 1.0,
        matching: str = "global",
        upsample: int = 1,
        peak_threshold: float = 0.1,
        peak_nms: str = "cross",
        paf_samples: int = 10,
        paf_min_value: float = 0.05,
        paf_min_fraction: float = 0.8,
        min_parts: int = 1,
        min_person_score: float = 0.2,
        merge_hips: bool = True,
        hip_gap_ratio: float = 1.5,
        neck: str = "impute",
        relink_fraction: float = 0.3,
        keypoint_set: KeypointSet = OPENPOSE18,
    ) -> None:
        if matching not in MATCHINGS:
            raise ValueError(f"matching must be one of {MATCHINGS}, got {matching!r}")
        if neck not in NECK_RULES:
            raise ValueError(f"neck must be one of {NECK_RULES}, got {neck!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.stride, self.sigma, self.paf_width = int(stride), float(sigma), float(paf_width)
        self.matching, self.upsample = matching, max(1, int(upsample))
        if peak_nms not in ("cross", "square"):
            raise ValueError(f"peak_nms must be 'cross' or 'square', got {peak_nms!r}")
        self.peak_threshold, self.peak_nms, self.paf_samples = peak_threshold, peak_nms, paf_samples
        self.paf_min_value, self.paf_min_fraction = paf_min_value, paf_min_fraction
        self.min_parts, self.min_person_score = min_parts, min_person_score
        self.merge_hips, self.hip_gap_ratio, self.neck = merge_hips, hip_gap_ratio, neck
        self.relink_fraction = float(relink_fraction)
        self.keypoint_set = keypoint_set

    @property
    def paf_channels(self) -> tuple[tuple[int, int], ...]:
        """(x, y) PAF channels of each limb of ``keypoint_set``."""
        return paf_channels(self.keypoint_set)

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return self.input_size[0] // self.stride, self.input_size[1] // self.stride

    # -- the codec contract (codecs/base.py) -------------------------------------------------
    @property
    def divisor(self) -> int:
        return self.stride

    def adopt_keypoint_set(self, keypoint_set: KeypointSet) -> None:  # noqa: ARG002
        """Keeps its own set (OpenPose-18): ``prepare_keypoints`` converts the data's."""

    def render_outputs(self, keypoints: np.ndarray) -> list[np.ndarray]:
        """Keypoints (P, K, 3) -> [heatmaps (K + 1, h, w), pafs (2L, h, w)]."""
        enc = self.encode(keypoints)
        return [enc["heatmaps"], enc["pafs"]]

    def split(self, outputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """[heatmaps_0, pafs_0, ..., heatmaps_n, pafs_n]: the last pair."""
        if len(outputs) < 2:
            raise ValueError(f"expected [heatmaps, pafs, ...] outputs, got {len(outputs)} arrays")
        return {"heatmaps": outputs[-2], "pafs": outputs[-1]}

    def unflip(self, maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        ks = self.keypoint_set
        hm = maps["heatmaps"]
        perm = list(ks.flip_index) + list(range(ks.num_keypoints, hm.shape[1]))  # background stays
        channels = self.paf_channels
        pafs = np.stack([mirror_pafs(p, ks.limbs, ks.flip_index, channels) for p in maps["pafs"]])
        return {"heatmaps": hm[:, perm], "pafs": pafs}

    def at_size(self, input_size: tuple[int, int], map_size: tuple[int, int] | None = None) -> OpenPoseCodec:  # noqa: ARG002
        return with_input_size(self, input_size)

    def prepare_keypoints(self, keypoints: np.ndarray, keypoint_set: KeypointSet) -> np.ndarray:
        """Dataset keypoints -> this codec's set (COCO-17 gains the neck, OpenPose order)."""
        if keypoint_set.keypoints == self.keypoint_set.keypoints:
            return np.asarray(keypoints, np.float32)
        if keypoint_set.keypoints == COCO17.keypoints and self.keypoint_set is OPENPOSE18:
            out = coco_to_openpose(np.asarray(keypoints, np.float32)).astype(np.float32)
            return impute_neck(out) if self.neck == "impute" else out
        raise ValueError(f"OpenPoseCodec({self.keypoint_set.name}) cannot take {keypoint_set.name} keypoints")

    # -- encode ------------------------------------------------------------------------------
    def encode(self, keypoints: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Keypoints (P, K, 3) of every person in the input frame (+ optional (H, W) ignore mask,
        1 = use) -> ``heatmaps`` (K+1, H/s, W/s), ``pafs`` (2L, H/s, W/s), ``mask`` (H/s, W/s)."""
        kp = np.asarray(keypoints, np.float32).reshape(-1, self.keypoint_set.num_keypoints, 3)
        h, w = self.heatmap_size
        s = self.stride
        k = self.keypoint_set.num_keypoints
        gx = np.arange(w, dtype=np.float32) * s + s / 2 - 0.5
        gy = np.arange(h, dtype=np.float32) * s + s / 2 - 0.5
        heat = np.zeros((k + 1, h, w), np.float32)
        if len(kp):
            g = gaussian_maps(kp[..., :2], gx, gy, self.sigma)  # (P, K, h, w)
            g[g < 0.01] = 0.0  # as the reference: exponent cut at ln(100)
            g *= (kp[..., 2] > 0)[..., None, None]
            heat[:k] = g.max(0)
        heat[k] = 1.0 - heat[:k].max(0)
        pafs = np.zeros((2 * len(self.keypoint_set.limbs), h, w), np.float32)
        uv = (kp[..., :2] + 0.5) / s - 0.5
        xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        for li, (a, b) in enumerate(self.keypoint_set.limbs):
            acc = np.zeros((2, h, w), np.float32)
            count = np.zeros((h, w), np.float32)
            for p in range(len(kp)):
                if kp[p, a, 2] <= 0 or kp[p, b, 2] <= 0:
                    continue
                d = uv[p, b] - uv[p, a]
                length = float(np.hypot(*d))
                if length < 1e-6:
                    continue
                unit = d / length
                rx, ry = xx - uv[p, a, 0], yy - uv[p, a, 1]  # the limb's segment, widened by paf_width
                along = rx * unit[0] + ry * unit[1]
                across = np.abs(rx * unit[1] - ry * unit[0])
                on = (along >= -self.paf_width) & (along <= length + self.paf_width) & (across <= self.paf_width)
                acc[:, on] += unit[:, None]
                count += on
            nz = count > 0
            acc[:, nz] /= count[nz]
            pafs[list(self.paf_channels[li])] = acc
        out = {"heatmaps": heat, "pafs": pafs}
        out["mask"] = self._mask(mask)
        return out

    def _mask(self, mask: np.ndarray | None) -> np.ndarray:
        h, w = self.heatmap_size
        if mask is None:
            return np.ones((h, w), np.float32)
        import cv2

        return (cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0.5).astype(np.float32)

    # -- decode ------------------------------------------------------------------------------
    def decode(self, heatmaps: object, pafs: object = None) -> list[MultiPersonPoses]:
        """Heatmaps (N, K(+1), h, w) and PAFs (N, 2L, h, w), numpy or torch (or ``split``'s dict alone)
        -> one :class:`MultiPersonPoses` per image (keypoints in the input frame, h * stride x w * stride)."""
        if isinstance(heatmaps, Mapping):
            heatmaps, pafs = heatmaps["heatmaps"], heatmaps["pafs"]
        hm, pf = to_numpy(heatmaps, 4), to_numpy(pafs, 4)
        pf = pf[:, [c for pair in self.paf_channels for c in pair]]  # limb i -> channels 2i, 2i + 1 below
        return [self._decode_one(hm[i], pf[i]) for i in range(hm.shape[0])]

    def _decode_one(self, heat: np.ndarray, paf: np.ndarray) -> MultiPersonPoses:
        k = self.keypoint_set.num_keypoints
        limbs = list(self.keypoint_set.limbs)
        r = self.upsample
        h, w = heat.shape[-2:]
        size = (h * r, w * r)
        heat = resize_maps(heat[:k], size) if r > 1 else heat[:k]
        paf = resize_maps(paf, size) if r > 1 else paf
        ch, py, px = find_peaks(heat, self.peak_threshold, cross=self.peak_nms == "cross")
        sub = np.stack([px, py], -1).astype(np.float32) + refine_log_parabola(heat, ch, py, px)
        scores = np.clip(heat[ch, py, px], 0.0, 1.0)
        cands = [np.nonzero(ch == j)[0] for j in range(k)]
        integrals = limb_integrals(sub, paf, limbs, cands, self.paf_samples, self.paf_min_value, size[0])
        limb_sc = [np.where((f >= self.paf_min_fraction) & (m > 0), m, -np.inf) for m, f in integrals]
        if self.matching == "global":
            tiers = [candidate_connections(limb_sc, limbs, cands)]
            if self.relink_fraction < self.paf_min_fraction:
                weak = [np.where((f >= self.relink_fraction) & (f < self.paf_min_fraction) & (m > 0), m, -np.inf)
                        for m, f in integrals]  # fmt: skip
                tiers.append(candidate_connections(weak, limbs, cands))
            ids = conflict_free_groups(len(ch), ch, tiers, k)
        else:
            match = hungarian_match if self.matching == "hungarian" else greedy_match
            conns = []
            for (a, b), sc in zip(limbs, limb_sc, strict=True):
                rows, cols = match(sc)
                conns.append(np.stack([cands[a][rows], cands[b][cols]], -1))
            ids = assemble(len(ch), ch, conns, self._tree, k)  # (P, K) peak index or -1
        if self.merge_hips and self.keypoint_set is OPENPOSE18 and len(ids):
            ids = pair_fragments(ids, sub, 1, (8, 11), ((8, 9), (11, 12)), self.hip_gap_ratio)
        if not len(ids):
            return MultiPersonPoses.empty(k)
        found = ids >= 0
        kps = np.where(found[..., None], (sub[np.maximum(ids, 0)] + 0.5) * (self.stride / r) - 0.5, 0.0)
        ksc = np.where(found, scores[np.maximum(ids, 0)], 0.0)
        n_found = found.sum(1)
        keep = (n_found >= self.min_parts) & (ksc.sum(1) / np.maximum(n_found, 1) >= self.min_person_score)
        return MultiPersonPoses(
            kps[keep].astype(np.float32), ksc[keep].astype(np.float32), (ksc.sum(1) / k)[keep].astype(np.float32)
        )

    @property
    def _tree(self) -> np.ndarray:
        """Per limb: does it join two keypoint types not yet joined by earlier limbs (a spanning tree)?"""
        parent = list(range(self.keypoint_set.num_keypoints))

        def root(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        flags = []
        for a, b in self.keypoint_set.limbs:
            ra, rb = root(a), root(b)
            flags.append(ra != rb)
            parent[ra] = rb
        return np.array(flags, bool)


def paf_channels(keypoint_set: KeypointSet) -> tuple[tuple[int, int], ...]:
    """(x, y) PAF channels of each limb: the reference layout for OpenPose-18, ``2i, 2i + 1`` otherwise."""
    if keypoint_set is OPENPOSE18:
        return REFERENCE_PAF_CHANNELS
    return tuple((2 * i, 2 * i + 1) for i in range(len(keypoint_set.limbs)))


def limb_flip_index(limbs: Sequence[tuple[int, int]], flip_index: Sequence[int]) -> list[int]:
    """For each limb, the index of its mirror limb (the limb between the mirrored keypoints)."""
    where = {tuple(limb): i for i, limb in enumerate(limbs)}
    out = []
    for a, b in limbs:
        fa, fb = flip_index[a], flip_index[b]
        j = where.get((fa, fb), where.get((fb, fa)))
        if j is None:
            raise ValueError(f"limb ({a}, {b}) has no mirror limb ({fa}, {fb}) in the skeleton")
        out.append(j)
    return out


def mirror_pafs(
    pafs: np.ndarray,
    limbs: Sequence[tuple[int, int]],
    flip_index: Sequence[int],
    channels: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Channel part of flipping (2L, h, w) PAFs: each limb takes its mirror's field with x negated.
    (The spatial mirror is done by the warp.) A mirror limb stored reversed flips the direction.
    ``channels``: the (x, y) channels of each limb (default ``2i, 2i + 1``; the OpenPose codec's
    ``paf_channels`` for its reference layout)."""
    ch = channels or [(2 * i, 2 * i + 1) for i in range(len(limbs))]
    out = np.empty_like(pafs)
    idx = limb_flip_index(limbs, flip_index)
    for i, j in enumerate(idx):
        a, b = limbs[i]
        same_dir = (flip_index[a], flip_index[b]) == tuple(limbs[j])
        sign = 1.0 if same_dir else -1.0
        out[ch[i][0]] = -sign * pafs[ch[j][0]]
        out[ch[i][1]] = sign * pafs[ch[j][1]]
    return out


def impute_neck(kp: np.ndarray, ratio: float = SHOULDER_HIP_RATIO) -> np.ndarray:
    """OpenPose-18 keypoints (..., 18, 3): give a neck to persons with exactly one labelled shoulder.

    COCO leaves occluded shoulders unlabelled, and without a neck the OpenPose tree splits such a
    person into head / arm / leg fragments that no PAF joins. The neck (the shoulders' midpoint) is
    estimated, with the labelled shoulder's visibility, from (1) both hips: the missing shoulder is
    the labelled one moved by ``ratio`` x the hip vector (torso as a trapezoid); else (2) nose and
    both eyes: the labelled shoulder projected onto the head's axis (through the nose, normal to
    the eye line). Otherwise the neck stays unlabelled.
    """
    kp = np.array(kp, np.float32, copy=True)
    lab = kp[..., 2] > 0
    for s, hs, ho in ((2, 8, 11), (5, 11, 8)):  # (shoulder, same-side hip, other hip), OpenPose order
        one = ~lab[..., 1] & lab[..., s] & ~lab[..., 7 - s]
        by_hips = one & lab[..., hs] & lab[..., ho]
        neck = kp[..., s, :2] + 0.5 * ratio * (kp[..., ho, :2] - kp[..., hs, :2])
        eyes = kp[..., 15, :2] - kp[..., 14, :2]
        normal = np.stack([-eyes[..., 1], eyes[..., 0]], -1)
        normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-6)
        depth = ((kp[..., s, :2] - kp[..., 0, :2]) * normal).sum(-1, keepdims=True)
        by_head = one & ~by_hips & lab[..., 0] & lab[..., 14] & lab[..., 15] & (np.linalg.norm(eyes, axis=-1) > 0)
        neck = np.where(by_head[..., None], kp[..., 0, :2] + depth * normal, neck)
        use = by_hips | by_head
        kp[..., 1, :2] = np.where(use[..., None], neck, kp[..., 1, :2])
        kp[..., 1, 2] = np.where(use, kp[..., s, 2], kp[..., 1, 2])
        lab = kp[..., 2] > 0
    return kp
