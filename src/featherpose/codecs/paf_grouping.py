"""PAF grouping: limb line integrals, then persons by one of two routes.

Every candidate pair of every limb is scored in one gather (no Python loop over pixels or pairs).
Then either the conflict-aware global merge (:func:`conflict_free_groups`, the OpenPose codec's
default): all limbs' accepted connections in descending score, in tiers, each joining two persons
whose keypoint types are disjoint (one loop over the accepted connections, with a union-find); or
per-limb one-to-one matching (:func:`greedy_match`, which takes all mutually-best pairs at once per
round, or :func:`hungarian_match`) and :func:`assemble` (connected components along the limb tree).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def limb_integrals(
    xy: np.ndarray,
    pafs: np.ndarray,
    limbs: list[tuple[int, int]],
    cands: list[np.ndarray],
    samples: int = 10,
    min_value: float = 0.05,
    height: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """PAF line integral of every candidate pair of every limb, in one gather.

    ``xy`` (n, 2) peak positions in PAF pixels, ``pafs`` (2L, h, w), ``cands[j]`` the peak indices
    of keypoint ``j``. Returns, per limb, two (na, nb) arrays: the mean dot product of the field
    with the pair's unit vector over ``samples`` points of the segment, plus the Lightweight OpenPose
    reference's penalty for limbs longer than half the map height (``-inf`` for coincident peaks),
    and the fraction of the points whose dot product exceeds ``min_value``.
    """
    h, w = pafs.shape[-2:]
    height = h if height is None else height
    shapes = [(len(cands[a]), len(cands[b])) for a, b in limbs]
    sizes = [na * nb for na, nb in shapes]
    if sum(sizes) == 0:
        return [(np.full(s, -np.inf, np.float32), np.zeros(s, np.float32)) for s in shapes]
    ia = np.concatenate([np.repeat(cands[a], len(cands[b])) for a, b in limbs]).astype(np.int64)
    ib = np.concatenate([np.tile(cands[b], len(cands[a])) for a, b in limbs]).astype(np.int64)
    limb = np.repeat(np.arange(len(limbs)), sizes)
    pa, d = xy[ia], xy[ib] - xy[ia]  # (m, 2)
    norm = np.sqrt((d * d).sum(-1))
    unit = d / np.maximum(norm, 1e-6)[:, None]
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    pts = pa[:, None, :] + t[None, :, None] * d[:, None, :]  # (m, S, 2)
    p = pafs.reshape(-1)
    base = limb[:, None] * 2 * h
    xi = np.clip(np.rint(pts[..., 0]).astype(np.int64), 0, w - 1)
    yi = np.clip(np.rint(pts[..., 1]).astype(np.int64), 0, h - 1)
    flat = (base + yi) * w + xi  # index of the x channel; + h * w gives y
    vx, vy = p[flat], p[flat + h * w]
    dots = vx * unit[:, None, 0] + vy * unit[:, None, 1]
    mean = dots.mean(-1) + np.minimum(0.5 * height / np.maximum(norm, 1e-6) - 1.0, 0.0)
    mean = np.where(norm > 0, mean, -np.inf).astype(np.float32)
    frac = (dots > min_value).mean(-1).astype(np.float32)
    cut = np.cumsum(sizes)[:-1]
    parts = zip(np.split(mean, cut), np.split(frac, cut), shapes, strict=True)
    return [(m.reshape(s), f.reshape(s)) for m, f, s in parts]


def limb_scores(
    xy: np.ndarray,
    pafs: np.ndarray,
    limbs: list[tuple[int, int]],
    cands: list[np.ndarray],
    samples: int = 10,
    min_value: float = 0.05,
    min_fraction: float = 0.8,
    height: int | None = None,
) -> list[np.ndarray]:
    """Per limb, the (na, nb) connection scores of :func:`limb_integrals`, ``-inf`` where a pair fails
    the criteria of the Lightweight OpenPose reference: mean (with the length penalty) > 0 and at
    least ``min_fraction`` of the ``samples`` points above ``min_value``."""
    out = []
    for mean, frac in limb_integrals(xy, pafs, limbs, cands, samples, min_value, height):
        out.append(np.where((frac >= min_fraction) & (mean > 0), mean, -np.inf).astype(np.float32))
    return out


def greedy_match(sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching by descending score (finite entries only) -> (rows, cols).

    Each round accepts every pair that is the best of both its row and its column; the sequential
    greedy algorithm (take the global best, drop its row and column, repeat) accepts exactly those
    pairs too, so the result is the same, in a few vectorised rounds.
    """
    sc = np.array(sc, np.float64, copy=True)
    rows, cols = [], []
    ar = np.arange(sc.shape[0])
    while sc.size and np.isfinite(sc).any():
        best_c = sc.argmax(1)
        best_r = sc.argmax(0)
        ok = np.isfinite(sc[ar, best_c]) & (best_r[best_c] == ar)
        r, c = ar[ok], best_c[ok]
        rows.append(r)
        cols.append(c)
        sc[r, :] = -np.inf
        sc[:, c] = -np.inf
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def hungarian_match(sc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-total-score one-to-one matching over the finite entries (> 0) -> (rows, cols)."""
    if not sc.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    finite = np.isfinite(sc)
    rows, cols = linear_sum_assignment(np.where(finite, -sc, 0.0))
    ok = finite[rows, cols]
    return rows[ok], cols[ok]


def assemble(
    n_peaks: int,
    peak_types: np.ndarray,
    connections: list[np.ndarray],
    tree: np.ndarray,
    k: int,
) -> np.ndarray:
    """Persons (P, K) of peak indices (-1 = absent) from per-limb connections ((m, 2) peak pairs).

    Limbs flagged in ``tree`` form a tree over keypoint types, so with one-to-one matching per limb
    a connected component of their connections never holds two peaks of one type: it is a person.
    The other (redundant) limbs then join two persons only when their keypoint types are disjoint.
    Every peak that no connection reaches becomes a one-keypoint person.
    """
    if n_peaks == 0:
        return np.zeros((0, k), np.int64)
    pairs = [c for c, t in zip(connections, tree, strict=True) if t and len(c)]
    edges = np.concatenate(pairs).astype(np.int64) if pairs else np.zeros((0, 2), np.int64)
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n_peaks, n_peaks))
    n, label = connected_components(graph, directed=False)
    persons = np.full((n, k), -1, np.int64)
    persons[label, peak_types] = np.arange(n_peaks)
    for c, t in zip(connections, tree, strict=True):  # redundant limbs: few connections
        if t:
            continue
        for pa, pb in c:
            la, lb = label[pa], label[pb]
            if la != lb and not ((persons[la] >= 0) & (persons[lb] >= 0)).any():
                persons[la] = np.maximum(persons[la], persons[lb])
                persons[lb] = -1
                label[label == lb] = la
    return persons[(persons >= 0).any(1)]


def candidate_connections(
    scores: list[np.ndarray], limbs: list[tuple[int, int]], cands: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every finite entry of every limb's score matrix as flat arrays (score, peak a, peak b)."""
    sc, pa, pb = [np.zeros(0, np.float32)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for (a, b), m in zip(limbs, scores, strict=True):
        r, c = np.nonzero(np.isfinite(m))
        sc.append(m[r, c].astype(np.float32))
        pa.append(cands[a][r])
        pb.append(cands[b][c])
    return np.concatenate(sc), np.concatenate(pa).astype(np.int64), np.concatenate(pb).astype(np.int64)


def conflict_free_groups(
    n_peaks: int,
    peak_types: np.ndarray,
    tiers: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    k: int,
) -> np.ndarray:
    """Persons (P, K) of peak indices (-1 = absent) by a conflict-aware greedy merge over all limbs.

    ``tiers``: lists of candidate connections (score, peak a, peak b), taken tier after tier, each
    by descending score, across all limbs at once (tree and redundant). A connection joins the two
    persons holding its peaks when their keypoint types are disjoint, so a person never holds two
    peaks of one type, and a weak connection (a later tier) can only join fragments that no strong
    one has claimed. On a tree of limbs, one tier gives the same persons as greedy matching per
    limb; a second tier of relaxed criteria re-joins fragments that a broken PAF left apart.
    """
    if n_peaks == 0:
        return np.zeros((0, k), np.int64)
    parent = list(range(n_peaks))
    mask = [1 << int(t) for t in peak_types]

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for sc, pa, pb in tiers:
        order = np.argsort(-sc, kind="stable")
        for a, b in zip(pa[order].tolist(), pb[order].tolist(), strict=True):
            ra, rb = root(a), root(b)
            if ra == rb or mask[ra] & mask[rb]:
                continue
            parent[rb] = ra
            mask[ra] |= mask[rb]
    label = np.array([root(i) for i in range(n_peaks)])
    _, label = np.unique(label, return_inverse=True)
    persons = np.full((label.max() + 1, k), -1, np.int64)
    persons[label, peak_types] = np.arange(n_peaks)
    return persons


def pair_fragments(
    persons: np.ndarray,
    xy: np.ndarray,
    anchor: int,
    pair: tuple[int, int],
    scale_limbs: tuple[tuple[int, int], ...],
    max_ratio: float,
) -> np.ndarray:
    """Join fragments without the ``anchor`` keypoint (the neck) that hold one side of ``pair``
    (the hips) each, when their types are disjoint and the gap between the two is at most
    ``max_ratio`` x the longest of their ``scale_limbs`` (thighs). Hungarian on gap / scale."""
    a, b = pair
    free = persons[:, anchor] < 0
    left = np.nonzero(free & (persons[:, a] >= 0) & (persons[:, b] < 0))[0]
    right = np.nonzero(free & (persons[:, b] >= 0) & (persons[:, a] < 0))[0]
    if not len(left) or not len(right):
        return persons
    found = persons >= 0
    scale = np.zeros(len(persons))
    for u, v in scale_limbs:
        ok = found[:, u] & found[:, v]
        length = np.linalg.norm(xy[persons[:, u]] - xy[persons[:, v]], axis=-1)
        scale = np.maximum(scale, np.where(ok, length, 0.0))
    gap = np.linalg.norm(xy[persons[left, a]][:, None] - xy[persons[right, b]][None], axis=-1)
    s = np.maximum(scale[left][:, None], scale[right][None])
    disjoint = ~(found[left][:, None] & found[right][None]).any(-1)
    ratio = np.where(disjoint & (s > 0), gap / np.maximum(s, 1e-6), np.inf)
    rows, cols = hungarian_match(np.where(ratio <= max_ratio, 1.0 + max_ratio - ratio, -np.inf))
    if not len(rows):
        return persons
    out = persons.copy()
    out[left[rows]] = np.maximum(out[left[rows]], out[right[cols]])
    keep = np.ones(len(out), bool)
    keep[right[cols]] = False
    return out[keep]
