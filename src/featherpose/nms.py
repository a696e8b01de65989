"""Pose non-maximum suppression: OKS, hard / soft OKS-NMS and the parallel OKS-NMS of paper 002.

All functions take poses as ``(N, K, 3)`` arrays of ``[x, y, score]`` (or ``[x, y, visibility]`` for
ground truth), per-pose areas ``(N,)`` (the detection box area, pixels^2) and per-keypoint OKS sigmas
``(K,)`` (``KeypointSet.sigmas_array()``). The three NMS variants share one OKS implementation (the
symmetric form of paper 002 eq. 9, float32, see :func:`oks_matrix`) and one pre-filter (pairs whose
keypoint boxes, widened by the OKS reach, cannot overlap have OKS < 1e-6 and are not computed), so
that measured differences come from the algorithm, not from the similarity or its implementation.
How the vague parts of Algorithm 1 were read, and why :func:`parallel_oks_nms` defaults to
thresholding the OKS matrix (``mode="hard"``), is written down in ``docs/evaluation.md``.
"""

from __future__ import annotations

import numpy as np

_EPS = np.spacing(1)  # the epsilon pycocotools adds to the area


def _as_poses(poses: np.ndarray, name: str = "poses") -> np.ndarray:
    p = np.asarray(poses, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] < 3:
        raise ValueError(f"{name} must have shape (N, K, 3) [x, y, score], got {p.shape}")
    return p


_CHUNK = 1 << 21  # rows x columns x keypoints per block: bounds memory, never loops over poses
# Pairs whose keypoint boxes, each widened by ``_REACH * max(sigma) * sqrt(area)``, do not overlap have
# every per-keypoint OKS term below ``_PRUNE_EPS`` (so OKS < _PRUNE_EPS): the NMS functions skip them.
_PRUNE_EPS = 1e-6
_REACH = float(np.sqrt(2.0 * np.log(1.0 / _PRUNE_EPS)))


def _normalise(p: np.ndarray, var: np.ndarray, vis_thr: float | None, dtype: type) -> tuple[np.ndarray, ...]:
    """Coordinates pre-divided by sqrt(2 (2 sigma)^2) and the keypoint mask, each (N, K) in ``dtype``."""
    norm = (1.0 / np.sqrt(2.0 * var)).astype(dtype)
    x = np.ascontiguousarray(p[:, :, 0], dtype=dtype) * norm
    y = np.ascontiguousarray(p[:, :, 1], dtype=dtype) * norm
    v = np.ones(p.shape[:2], dtype) if vis_thr is None else (p[:, :, 2] > vis_thr).astype(dtype)
    return x, y, v


def _oks_core(
    xa: np.ndarray,
    ya: np.ndarray,
    va: np.ndarray,
    area_a: np.ndarray,
    xb: np.ndarray,
    yb: np.ndarray,
    vb: np.ndarray | None,
    area_b: np.ndarray | None,
) -> np.ndarray:
    """Dense OKS from normalised coordinates (see :func:`_normalise`) -> (N, M).

    ``vb`` given: a keypoint counts when set in both masks; ``area_b`` given: pair scale
    ``sqrt(area_a area_b)``. Vectorised over all pairs and keypoints; large inputs are processed in
    blocks of rows (never one pose or one keypoint at a time) so the working set stays ~``_CHUNK``.
    """
    n, m, k = xa.shape[0], xb.shape[0], xa.shape[1]
    dtype = xa.dtype
    out = np.zeros((n, m), dtype=dtype)
    if n == 0 or m == 0:
        return out
    scale = area_a[:, None] if area_b is None else np.sqrt(area_a[:, None] * area_b[None, :])
    neg_inv = np.broadcast_to((-1.0 / (scale + _EPS)).astype(dtype), (n, m))

    # Keypoint-major layout (K, rows, M): the long pose axis is innermost, so every elementwise step
    # and the keypoint sum run over contiguous memory.
    def km(a: np.ndarray, axis: int) -> np.ndarray:
        return np.expand_dims(np.ascontiguousarray(a.T), axis)

    xat, yat, vat = km(xa, 2), km(ya, 2), km(va, 2)
    xbt, ybt = km(xb, 1), km(yb, 1)
    vbt = None if vb is None else km(vb, 1)
    rows = max(1, _CHUNK // max(1, m * k))
    for r0 in range(0, n, rows):
        r = slice(r0, min(n, r0 + rows))
        shape = (k, r.stop - r0, m)
        e = np.subtract(xat[:, r], xbt, out=np.empty(shape, dtype))  # C order, whatever the inputs' strides
        dy = np.subtract(yat[:, r], ybt, out=np.empty(shape, dtype))
        np.square(e, out=e)
        np.square(dy, out=dy)
        e += dy
        e *= neg_inv[None, r]
        np.maximum(e, -80.0, out=e)  # exp(-80) ~ 2e-35: avoids slow denormal results, changes nothing
        np.exp(e, out=e)
        # Keypoint masks and sums by elementwise products and axis-0 sums: no BLAS call (its thread
        # pool costs more than it saves at K = 17, especially on a loaded machine).
        if vbt is not None:
            w = np.multiply(vat[:, r], vbt, out=dy)
            e *= w
            den = w.sum(axis=0)
        else:
            e *= vat[:, r]
            den = np.broadcast_to(va[r].sum(axis=1)[:, None], e.shape[1:])
        num = e.sum(axis=0)
        np.divide(num, den, out=out[r], where=den > 0)
    return out


class _Prepared:
    """Per-pose data shared by the NMS functions: normalised keypoints, mask, area and reach boxes."""

    def __init__(self, p: np.ndarray, areas: np.ndarray, var: np.ndarray, vis_thr: float | None):
        self.x, self.y, self.v = _normalise(p, var, vis_thr, np.float32)
        self.area = areas
        vis = self.v > 0
        xs, ys = p[:, :, 0], p[:, :, 1]
        with np.errstate(invalid="ignore"):
            lo_x = np.where(vis, xs, np.inf).min(axis=1, initial=np.inf)
            hi_x = np.where(vis, xs, -np.inf).max(axis=1, initial=-np.inf)
            lo_y = np.where(vis, ys, np.inf).min(axis=1, initial=np.inf)
            hi_y = np.where(vis, ys, -np.inf).max(axis=1, initial=-np.inf)
        reach = _REACH * float(np.sqrt(var.max() / 4.0)) * np.sqrt(np.maximum(areas, 0.0))  # sigma_max sqrt(area)
        # A pose with no counted keypoint gets an empty (inf, -inf) box: it overlaps nothing, its OKS is 0.
        self.box = np.stack([lo_x - reach, lo_y - reach, hi_x + reach, hi_y + reach], axis=1)

    def overlaps(self, i: int, js: np.ndarray) -> np.ndarray:
        """Whether pose ``i``'s reach box overlaps those of ``js`` (bool, like ``js``)."""
        a, b = self.box[i], self.box[js]
        return (b[:, 0] <= a[2]) & (a[0] <= b[:, 2]) & (b[:, 1] <= a[3]) & (a[1] <= b[:, 3])

    def block_mask(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), N) bool: reach boxes of ``rows`` overlap column j, and row < j (strict upper triangle)."""
        a, b = self.box[rows, None, :], self.box[None, :, :]
        m = (b[..., 0] <= a[..., 2]) & (a[..., 0] <= b[..., 2]) & (b[..., 1] <= a[..., 3]) & (a[..., 1] <= b[..., 3])
        m &= rows[:, None] < np.arange(self.box.shape[0])[None, :]
        return m

    def oks(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Dense (len(rows), len(cols)) OKS, eq. 9 form (keypoints counted in both, scale sqrt(a_i a_j)), float32."""
        return _oks_core(self.x[rows], self.y[rows], self.v[rows], self.area[rows],
                         self.x[cols], self.y[cols], self.v[cols], self.area[cols])  # fmt: skip

    def block_rows(self) -> int:
        return max(8, _CHUNK // max(1, self.box.shape[0] * self.x.shape[1]))

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """OKS of all pairs ``i < j`` whose reach boxes overlap: (I, J, O), no loop over poses.

        Rows are processed in blocks (for memory); each block is computed densely against the
        columns that overlap at least one of its rows.
        """
        n = self.box.shape[0]
        out_i, out_j, out_o = [], [], []
        step = self.block_rows()
        for r0 in range(0, n, step):
            rows = np.arange(r0, min(n, r0 + step))
            m = self.block_mask(rows)
            cols = np.flatnonzero(m.any(axis=0))
            if not cols.size:
                continue
            o = self.oks(rows, cols)
            ii, jj = np.nonzero(m[:, cols])
            out_i.append(ii + r0)
            out_j.append(cols[jj])
            out_o.append(o[ii, jj])
        if not out_i:
            z = np.zeros(0, np.int64)
            return z, z, np.zeros(0, np.float32)
        return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_o)


def oks_matrix(
    poses_a: np.ndarray,
    poses_b: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    *,
    areas_b: np.ndarray | None = None,
    vis_thr: float | None = 0.0,
    both: bool = False,
    dtype: type = np.float64,
) -> np.ndarray:
    """Object keypoint similarity between every pose of ``poses_a`` (N,K,3) and ``poses_b`` (M,K,3).

    COCO formula: ``mean_k exp(-d_k^2 / (2 * s^2 * (2 sigma_k)^2))`` over the keypoints whose third
    column in the *reference* pose ``poses_a`` exceeds ``vis_thr`` (``both=True``: in both poses, as
    paper 002 eq. 9; ``vis_thr=None``: all keypoints). ``s^2`` is ``areas`` (N,) of the reference pose
    (exactly pycocotools' ``computeOks`` when ``poses_a`` is the ground truth and ``vis_thr=0``), or
    ``sqrt(areas_i * areas_b_j)`` when ``areas_b`` (M,) is given. A pair with no counted keypoint
    has OKS 0. Returns an (N, M) array of ``dtype``, vectorised over all pairs (the NMS functions
    use float32, whose vectorised ``exp`` is several times faster).
    """
    a, b = _as_poses(poses_a, "poses_a"), _as_poses(poses_b, "poses_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"keypoint counts differ: {a.shape[1]} vs {b.shape[1]}")
    var = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2
    if var.shape != (a.shape[1],):
        raise ValueError(f"need {a.shape[1]} sigmas, got {var.shape}")
    area_a = np.asarray(areas, dtype=np.float64).reshape(-1)
    if area_a.shape[0] != a.shape[0]:
        raise ValueError(f"need {a.shape[0]} areas, got {area_a.shape[0]}")
    area_b = None if areas_b is None else np.asarray(areas_b, dtype=np.float64).reshape(-1)
    if area_b is not None and area_b.shape[0] != b.shape[0]:
        raise ValueError(f"need {b.shape[0]} areas_b, got {area_b.shape[0]}")
    xa, ya, va = _normalise(a, var, vis_thr, dtype)
    xb, yb, vb = _normalise(b, var, vis_thr, dtype)
    return _oks_core(xa, ya, va, area_a, xb, yb, vb if (both and vis_thr is not None) else None, area_b)


def pose_score(keypoint_scores: np.ndarray, box_scores: np.ndarray, thr: float = 0.1) -> np.ndarray:
    """Pose confidence (paper 002 eq. 6): box score x mean of the keypoint scores above ``thr``.

    ``keypoint_scores`` is (N, K), ``box_scores`` (N,). A pose with no keypoint above ``thr`` scores 0.
    """
    s = np.asarray(keypoint_scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"keypoint_scores must be (N, K), got {s.shape}")
    box = np.asarray(box_scores, dtype=np.float64).reshape(-1)
    if box.shape[0] != s.shape[0]:
        raise ValueError(f"need {s.shape[0]} box scores, got {box.shape[0]}")
    above = s > thr
    count = above.sum(axis=1)
    total = np.where(above, s, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return mean * box


def _prepare(poses, scores, areas, sigmas):
    p = _as_poses(poses)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    a = np.asarray(areas, dtype=np.float64).reshape(-1)
    if not (s.shape[0] == a.shape[0] == p.shape[0]):
        raise ValueError(f"{p.shape[0]} poses but {s.shape[0]} scores and {a.shape[0]} areas")
    var = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2
    if p.shape[0] and var.shape != (p.shape[1],):
        raise ValueError(f"need {p.shape[1]} sigmas, got {var.shape}")
    return p, s, a, var


def oks_nms(
    poses: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    thr: float = 0.9,
    vis_thr: float | None = 0.1,
) -> np.ndarray:
    """Classic greedy (hard) OKS-NMS: keep the best pose, drop every pose with OKS > ``thr`` to it, repeat.

    OKS rows are computed only for kept poses and only against the remaining poses whose reach boxes
    overlap (the same similarity and pre-filter as :func:`parallel_oks_nms`). Returns the kept
    indices, best score first.
    """
    p, s, a, var = _prepare(poses, scores, areas, sigmas)
    n = p.shape[0]
    order = np.argsort(-s, kind="stable")
    if n == 0:
        return order.astype(np.int64)
    d = _Prepared(p[order], a[order], var, vis_thr)
    alive = np.ones(n, dtype=bool)
    keep: list[int] = []
    for i in range(n):  # greedy by nature: one step per *kept* pose (suppressed ones are skipped)
        if not alive[i]:
            continue
        keep.append(i)
        rest = np.arange(i + 1, n)
        cand = rest[alive[i + 1 :] & d.overlaps(i, rest)]
        if cand.size:
            o = d.oks(np.array([i]), cand)[0]
            alive[cand[o > thr]] = False
    return order[np.asarray(keep, dtype=np.int64)].astype(np.int64)


def soft_oks_nms(
    poses: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    method: str = "gaussian",
    thr: float = 0.3,
    sigma: float = 0.5,
    score_thr: float = 0.001,
    max_dets: int | None = None,
    vis_thr: float | None = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft OKS-NMS: pick the best pose, decay the others' scores by their OKS to it, repeat.

    ``method="gaussian"``: ``score *= exp(-oks^2 / sigma)``; ``"linear"``: ``score *= 1 - oks`` where
    ``oks > thr``. Poses whose score falls to ``score_thr`` or below are dropped. Returns
    ``(keep, new_scores)``: kept indices in selection order and their re-scored confidences.
    """
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method must be 'gaussian' or 'linear', got {method!r}")
    p, s, a, var = _prepare(poses, scores, areas, sigmas)
    d = _Prepared(p, a, var, vis_thr)
    s = s.copy()
    idx = np.flatnonzero(s > score_thr)
    limit = p.shape[0] if max_dets is None else max_dets
    keep: list[int] = []
    kept_scores: list[float] = []
    while idx.size and len(keep) < limit:
        j = int(np.argmax(s[idx]))
        i = idx[j]
        keep.append(int(i))
        kept_scores.append(float(s[i]))
        idx = np.delete(idx, j)
        if not idx.size:
            break
        near = idx[d.overlaps(i, idx)]  # the others have OKS < 1e-6 to pose i: no change
        if near.size:
            o = d.oks(np.array([i]), near)[0].astype(np.float64)
            if method == "gaussian":
                s[near] *= np.exp(-(o**2) / sigma)
            else:
                s[near] *= np.where(o > thr, 1.0 - o, 1.0)
        idx = idx[s[idx] > score_thr]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64)


def _sorted_oks_pairs(p, conf, a, var, kpt_thr):
    """Steps 3-7: order by confidence; OKS of the pre-filtered strict-upper-triangle pairs."""
    order = np.argsort(-conf, kind="stable")  # step 3
    if p.shape[0] < 2:
        z = np.zeros(0, np.int64)
        return order, z, z, np.zeros(0)
    d = _Prepared(p[order], a[order], var, kpt_thr)
    i, j, o = d.pairs()  # steps 4-7 (eq. 9): i < j only, pairs that cannot overlap skipped
    return order, i, j, o.astype(np.float64)


def _fixed_point_keep(n: int, i: np.ndarray, j: np.ndarray, hot: np.ndarray) -> np.ndarray:
    """Greedy-NMS keep mask from the suppression graph (``i < j`` pairs with OKS > thr), in sorted order.

    Cluster-NMS (Zheng et al. 2021): ``keep = ~any_i(keep_i & hot_ij)`` iterated from ``keep = all``
    reaches greedy NMS's result after as many whole-matrix steps as the longest suppression chain
    (typically 2-4), never one step per pose.
    """
    i, j = i[hot], j[hot]
    keep = np.ones(n, dtype=bool)
    for _ in range(n):
        new = np.ones(n, dtype=bool)
        new[j[keep[i]]] = False
        if np.array_equal(new, keep):
            break
        keep = new
    return keep


def _hard_keep(d: _Prepared, thr: float, block: int = 16) -> np.ndarray:
    """Exact hard OKS-NMS keep mask (sorted order) from the OKS matrix, thresholded at ``thr``.

    The matrix is built in blocks of ``block`` rows in score order (for memory, and so that hard NMS
    skips what it never needs): only rows not yet suppressed by a kept pose of an earlier block, and
    only columns still alive and within reach. Within a block the decision is the fixed point of
    :func:`_fixed_point_keep` (no step per pose).
    """
    n = d.box.shape[0]
    alive = np.ones(n, dtype=bool)
    cursor = 0
    while cursor < n:
        rows = cursor + np.flatnonzero(alive[cursor:])[:block]
        if not rows.size:
            break
        cursor = int(rows[-1]) + 1
        m = d.block_mask(rows) & alive[None, :]
        cols = np.flatnonzero(m.any(axis=0))
        if not cols.size:
            continue
        hot = (d.oks(rows, cols) > thr) & m[:, cols]
        # Decide the block's own rows first (they are also columns), then suppress with the kept ones.
        pos = np.full(n, -1)
        pos[rows] = np.arange(rows.size)
        in_block = pos[cols] >= 0
        ii, jj = np.nonzero(hot[:, in_block])
        keep = _fixed_point_keep(rows.size, ii, pos[cols[in_block]][jj], np.ones(ii.size, bool))
        alive[rows[~keep]] = False
        alive[cols[hot[keep].any(axis=0)]] = False
    return alive


def parallel_decay(
    poses: np.ndarray,
    conf: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    kpt_thr: float = 0.1,
    kernel: str = "linear",
    sigma: float = 2.0,
) -> np.ndarray:
    """Decay factor of every pose (paper 002 Algorithm 1, steps 3-11), in input order, float64 in [0, 1].

    ``conf`` is the pose confidence of eq. 6. Steps: sort by ``conf``; OKS ``O[i, j]`` for ``i < j``
    (pose i more confident) — only for pairs whose reach boxes overlap, all others have OKS < 1e-6
    and count as 0; compensation ``o_m[i] = max_l O[l, i]``; ``decay_j = min_i (1 - O[i,j]) / (1 - o_m[i])``
    (``kernel="gaussian"``: ``exp(-sigma (O[i,j]^2 - o_m[i]^2))``). Entries with ``O[i, j] = 0``
    (including pose 0's row, ``o_m[0] = 0``) contribute at least 1, so ``decay_j = min(1, min over pairs)``:
    exactly the dense N x N computation, without materialising the matrix.
    """
    if kernel not in ("linear", "gaussian"):
        raise ValueError(f"kernel must be 'linear' or 'gaussian', got {kernel!r}")
    p, c, a, var = _prepare(poses, conf, areas, sigmas)
    order, i, j, o = _sorted_oks_pairs(p, c, a, var, kpt_thr)
    n = p.shape[0]
    decay = np.ones(n)
    if not i.size:
        return decay
    comp = np.zeros(n)
    np.maximum.at(comp, j, o)  # step 8: o_m, column max
    if kernel == "linear":  # steps 9-10
        dm = (1.0 - o) / np.maximum(1.0 - comp[i], 1e-12)
    else:
        dm = np.exp(-sigma * (o**2 - comp[i] ** 2))
    sorted_decay = np.ones(n)
    np.minimum.at(sorted_decay, j, dm)  # step 11: column min (entries off the pair list are >= 1)
    decay[order] = sorted_decay
    return decay


def parallel_oks_nms(
    poses: np.ndarray,
    box_scores: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    kpt_thr: float = 0.1,
    score_thr: float = 0.05,
    top_k: int | None = None,
    kernel: str = "linear",
    sigma: float = 2.0,
    mode: str = "hard",
    oks_thr: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Parallel OKS-NMS (paper 002, Algorithm 1): pose NMS from one OKS matrix, no loop over poses.

    1-2. pose confidence ``p`` from eq. 6 (box score x mean keypoint score above ``kpt_thr``);
    3-7. sort by ``p``, OKS ``O[i, j]`` (eq. 9) for the pairs ``i < j`` that can overlap (see
    :func:`parallel_decay`). Then, "for usage, we just need threshold and select top-k", in one of
    three modes (``docs/evaluation.md`` has the measurements behind the default):

    * ``mode="hard"`` (default): threshold the matrix at ``oks_thr``: pose j is dropped iff a *kept*
      more confident pose has OKS > ``oks_thr`` to it, with "kept" resolved by whole-matrix fixed-point
      steps (Cluster-NMS; 2-4 steps in practice, never one per pose). Exactly the keep set of
      :func:`oks_nms`; kept poses keep ``p``.
    * ``mode="matrix"``: one shot, Matrix-NMS's approximation of the above: steps 8-11 decay
      (compensated by ``o_m``, ``kernel`` linear = eq. 10 or Gaussian), keep j iff its decay is at least
      what OKS ``oks_thr`` to an unsuppressed pose gives (``1 - oks_thr`` linear); kept poses keep ``p``.
    * ``mode="soft"``: the paper's step 12 literally, ``p <- decay * p`` (a soft-NMS-like rescoring).

    Poses whose final confidence is ``<= score_thr`` are dropped, the rest sorted best first, at most
    ``top_k``. Returns ``(keep, new_scores)``: indices into the input and their confidences.
    """
    if mode not in ("hard", "matrix", "soft"):
        raise ValueError(f"mode must be 'hard', 'matrix' or 'soft', got {mode!r}")
    if kernel not in ("linear", "gaussian"):
        raise ValueError(f"kernel must be 'linear' or 'gaussian', got {kernel!r}")
    p, b, a, var = _prepare(poses, box_scores, areas, sigmas)
    if p.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    conf = pose_score(p[:, :, 2], b, kpt_thr)  # steps 1-2
    if mode == "hard":
        order = np.argsort(-conf, kind="stable")  # step 3
        keep = np.zeros(p.shape[0], dtype=bool)
        keep[order] = _hard_keep(_Prepared(p[order], a[order], var, kpt_thr), oks_thr)  # steps 4-7 + threshold
        new = np.where(keep, conf, 0.0)
    else:
        decay = parallel_decay(p, conf, a, sigmas, kpt_thr, kernel, sigma)  # steps 3-11
        if mode == "soft":
            new = decay * conf  # step 12
        else:
            floor = 1.0 - oks_thr if kernel == "linear" else float(np.exp(-sigma * oks_thr**2))
            new = np.where(decay >= floor - 1e-6, conf, 0.0)
    sel = np.flatnonzero(new > score_thr)
    sel = sel[np.argsort(-new[sel], kind="stable")]
    if top_k is not None:
        sel = sel[:top_k]
    return sel.astype(np.int64), new[sel]
