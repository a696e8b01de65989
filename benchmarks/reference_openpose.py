"""Reference-style OpenPose post-processing, written for the peer comparison (not part of the library).

An independent re-implementation of what the public Lightweight OpenPose code
(Daniil-Osokin/lightweight-human-pose-estimation.pytorch, ``modules/keypoints.py``, ``demo.py``,
``val.py``) does after the network, so featherpose's decoder can be compared with it on the same maps:

* maps upsampled x4 with bicubic interpolation (``upsample_ratio=4`` of its demo and of the OMZ demo);
* per keypoint type: values under 0.1 zeroed, a pixel is a peak when it beats its 4 neighbours, peaks
  sorted by x and suppressed greedily (in a Python loop) within 6 pixels of a kept one;
* per limb (19, in the reference's order, PAFs in its channel layout): 10 points sampled on every
  candidate pair, PAF . unit vector, the mean over samples above 0.05 is the score, kept when > 0 and
  more than 80% of the samples pass; connections taken greedily by score, each peak used once;
* persons assembled limb by limb (the first limb seeds them, the two ear-shoulder limbs only fill
  gaps); persons with fewer than 3 parts or a mean score under 0.2 are dropped;
* COCO score = summed score x (parts - 1), as in its ``val.py``.
"""

from __future__ import annotations

import cv2
import numpy as np

LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
         (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17))  # fmt: skip
PAF_CHANNELS = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7),
                (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))  # fmt: skip
# OpenPose-18 index -> COCO-17 index (the neck has none)
TO_COCO = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)


def extract_peaks(heatmap: np.ndarray, first_id: int, threshold: float = 0.1, radius: float = 6.0) -> list:
    """Peaks of one keypoint map -> [(x, y, score, global id)], as the reference's loop does."""
    hm = np.where(heatmap < threshold, 0.0, heatmap)
    p = np.pad(hm, 2)
    c = p[1:-1, 1:-1]
    peak = (c > p[1:-1, 2:]) & (c > p[1:-1, :-2]) & (c > p[2:, 1:-1]) & (c > p[:-2, 1:-1])
    ys, xs = np.nonzero(peak[1:-1, 1:-1])
    points = sorted(zip(xs.tolist(), ys.tolist(), strict=True), key=lambda q: q[0])
    gone = [False] * len(points)
    out = []
    for i, (x, y) in enumerate(points):
        if gone[i]:
            continue
        for j in range(i + 1, len(points)):
            if ((x - points[j][0]) ** 2 + (y - points[j][1]) ** 2) ** 0.5 < radius:
                gone[j] = True
        out.append((x, y, float(hm[y, x]), first_id + len(out)))
    return out


def limb_connections(ka: np.ndarray, kb: np.ndarray, paf: np.ndarray, samples: int = 10,
                     min_paf: float = 0.05) -> list[tuple[int, int, float]]:  # fmt: skip
    """Scored, greedily chosen (id_a, id_b, score) connections of one limb (paf: (h, w, 2))."""
    n, m = len(ka), len(kb)
    if n == 0 or m == 0:
        return []
    a = np.broadcast_to(ka[None, :, :2], (m, n, 2))
    vec = (kb[:, None, :2] - a).reshape(-1, 1, 2)
    t = np.arange(samples, dtype=np.float32).reshape(1, -1, 1) / (samples - 1)
    pts = np.round(vec * t + a.reshape(-1, 1, 2)).astype(np.int32)
    field = paf[pts[..., 1].ravel(), pts[..., 0].ravel()].reshape(-1, samples, 2)
    unit = vec / (np.linalg.norm(vec, axis=-1, keepdims=True) + 1e-6)
    dots = (field * unit).sum(-1)
    ok = dots > min_paf
    score = (dots * ok).sum(1) / (ok.sum(1) + 1e-6)
    valid = np.nonzero((score > 0) & (ok.sum(1) / samples > 0.8))[0]
    order = valid[np.argsort(-score[valid], kind="stable")]
    used_a, used_b, out = set(), set(), []
    for v in order:
        ib, ia = divmod(int(v), n)
        if ia in used_a or ib in used_b:
            continue
        used_a.add(ia)
        used_b.add(ib)
        out.append((int(ka[ia, 3]), int(kb[ib, 3]), float(score[v])))
    return out


def group(peaks_by_type: list[list], pafs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Persons as rows of 20 (18 peak ids or -1, summed score, part count) and all peaks (P, 4)."""
    flat = np.array([p for ps in peaks_by_type for p in ps], np.float32).reshape(-1, 4)
    by_type = [np.array(ps, np.float32).reshape(-1, 4) for ps in peaks_by_type]
    persons: list[np.ndarray] = []
    for li, ((a, b), (cx, cy)) in enumerate(zip(LIMBS, PAF_CHANNELS, strict=True)):
        conns = limb_connections(by_type[a], by_type[b], pafs[:, :, [cx, cy]])
        if not conns:
            continue
        if li == 0:
            for ia, ib, s in conns:
                row = -np.ones(20)
                row[a], row[b], row[-1], row[-2] = ia, ib, 2, flat[ia, 2] + flat[ib, 2] + s
                persons.append(row)
        elif li in (17, 18):  # ear-shoulder limbs only fill gaps
            for ia, ib, _ in conns:
                for row in persons:
                    if row[a] == ia and row[b] == -1:
                        row[b] = ib
                    elif row[b] == ib and row[a] == -1:
                        row[a] = ia
        else:
            for ia, ib, s in conns:
                joined = 0
                for row in persons:
                    if row[a] == ia:
                        row[b] = ib
                        row[-1] += 1
                        row[-2] += flat[ib, 2] + s
                        joined += 1
                if not joined:
                    row = -np.ones(20)
                    row[a], row[b], row[-1], row[-2] = ia, ib, 2, flat[ia, 2] + flat[ib, 2] + s
                    persons.append(row)
    kept = [r for r in persons if r[-1] >= 3 and r[-2] / r[-1] >= 0.2]
    return kept, flat


def decode(heatmaps: np.ndarray, pafs: np.ndarray, stride: int = 8, upsample: int = 4) -> list[tuple]:
    """Network maps (19, h, w) and reference-layout PAFs (38, h, w) -> [(COCO-17 keypoints (17, 3) in
    input pixels, COCO score)]."""
    hm = cv2.resize(heatmaps.transpose(1, 2, 0), None, fx=upsample, fy=upsample, interpolation=cv2.INTER_CUBIC)
    pf = cv2.resize(pafs.transpose(1, 2, 0), None, fx=upsample, fy=upsample, interpolation=cv2.INTER_CUBIC)
    peaks, total = [], 0
    for k in range(18):
        found = extract_peaks(hm[:, :, k], total)
        total += len(found)
        peaks.append(found)
    persons, flat = group(peaks, pf)
    out = []
    for row in persons:
        kps = np.zeros((17, 3), np.float32)
        for j, idx in enumerate(row[:18]):
            if idx >= 0 and TO_COCO[j] >= 0:
                x, y = flat[int(idx), :2] * stride / upsample
                kps[TO_COCO[j]] = (x, y, 1.0)
        out.append((kps, float(row[-2] * max(0.0, row[-1] - 1))))
    return out
