"""MPII PCKh: fraction of joints within ``threshold`` x head size of the ground truth.

Follows the standard MPII evaluation (the official MATLAB toolkit, re-implemented by HRNet and
mmpose): head size = ``SC_BIAS`` (0.6) x the diagonal of the annotated head box (``gt_valid.mat``),
a joint counts when annotated (``visible``) and its distance divided by the head size is
``<= threshold``; the headline mean leaves out pelvis and thorax and weights joints by how many
are annotated (total correct / total annotated). When only the common JSON form is at hand (no
head boxes), :func:`head_size_from_joints` gives the fallback: the head segment length
``|head_top - upper_neck|``, the quantity PCKh is defined on (see ``docs/evaluation.md``).
"""

from __future__ import annotations

import numpy as np

from featherpose.skeletons import MPII16, KeypointSet

SC_BIAS = 0.6  # official MPII: head segment length = 0.6 x head-box diagonal
EXCLUDED_FROM_MEAN = ("pelvis", "thorax")
# Left/right joints reported together, as in the MPII / HRNet tables.
GROUPS = {
    "Head": ("head_top",),
    "Shoulder": ("left_shoulder", "right_shoulder"),
    "Elbow": ("left_elbow", "right_elbow"),
    "Wrist": ("left_wrist", "right_wrist"),
    "Hip": ("left_hip", "right_hip"),
    "Knee": ("left_knee", "right_knee"),
    "Ankle": ("left_ankle", "right_ankle"),
}


def head_size_from_boxes(head_boxes: np.ndarray) -> np.ndarray:
    """Official head size from head boxes, ``(N, 4)`` ``[x1, y1, x2, y2]`` or ``(N, 2, 2)``: 0.6 x diagonal."""
    boxes = np.asarray(head_boxes, dtype=np.float64).reshape(-1, 4)
    return SC_BIAS * np.linalg.norm(boxes[:, 2:] - boxes[:, :2], axis=1)


def head_size_from_joints(gt: np.ndarray, keypoint_set: KeypointSet = MPII16) -> np.ndarray:
    """Fallback head size for the JSON form (no head boxes): ``|head_top - upper_neck|`` per person."""
    g = np.asarray(gt, dtype=np.float64)
    top, neck = keypoint_set.index("head_top"), keypoint_set.index("upper_neck")
    return np.linalg.norm(g[:, top, :2] - g[:, neck, :2], axis=1)


def pckh(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray,
    head_size: np.ndarray,
    threshold: float = 0.5,
    keypoint_set: KeypointSet = MPII16,
) -> dict:
    """PCKh at ``threshold`` for ``pred`` and ``gt`` (N, K, 2) in the same pixel frame.

    ``visible`` (N, K) marks annotated joints, ``head_size`` (N,) is the normaliser (see
    :func:`head_size_from_boxes` / :func:`head_size_from_joints`). Returns percentages:
    ``per_joint`` (name -> PCKh, NaN where no joint is annotated), ``groups`` (Head, Shoulder, ...),
    ``mean`` (without pelvis and thorax, the number papers quote), ``mean_all`` (all joints) and
    ``count`` (annotated joints per name).
    """
    p = np.asarray(pred, dtype=np.float64)[..., :2]
    g = np.asarray(gt, dtype=np.float64)[..., :2]
    k = keypoint_set.num_keypoints
    if p.shape != g.shape or p.ndim != 3 or p.shape[1] != k:
        raise ValueError(f"pred and gt must both be (N, {k}, 2), got {p.shape} and {g.shape}")
    vis = np.asarray(visible).reshape(p.shape[:2]) > 0
    hs = np.asarray(head_size, dtype=np.float64).reshape(-1)
    if hs.shape[0] != p.shape[0]:
        raise ValueError(f"need {p.shape[0]} head sizes, got {hs.shape[0]}")
    if np.any(hs[vis.any(axis=1)] <= 0):
        raise ValueError("head sizes must be positive for every person with an annotated joint")
    dist = np.linalg.norm(p - g, axis=2) / np.where(hs > 0, hs, 1.0)[:, None]
    correct = (dist <= threshold) & vis
    count = vis.sum(axis=0)
    hits = correct.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(count > 0, 100.0 * hits / np.maximum(count, 1), np.nan)
    names = keypoint_set.keypoints
    include = np.array([n not in EXCLUDED_FROM_MEAN for n in names])

    def weighted(mask: np.ndarray) -> float:
        total = count[mask].sum()
        return float(100.0 * hits[mask].sum() / total) if total else float("nan")

    groups = {}
    for label, members in GROUPS.items():
        if all(m in names for m in members):
            groups[label] = weighted(np.isin(names, members))
    return {
        "threshold": float(threshold),
        "per_joint": {n: float(v) for n, v in zip(names, per, strict=True)},
        "groups": groups,
        "mean": weighted(include),
        "mean_all": weighted(np.ones(k, dtype=bool)),
        "count": {n: int(c) for n, c in zip(names, count, strict=True)},
    }


def mpii_pckh(
    pred: np.ndarray,
    gt: np.ndarray,
    visible: np.ndarray,
    head_size: np.ndarray,
    keypoint_set: KeypointSet = MPII16,
) -> dict[str, float]:
    """The usual MPII summary: ``PCKh@0.5`` and ``PCKh@0.1`` (means without pelvis/thorax), the
    all-joint means, and the per-group values at 0.5."""
    at5 = pckh(pred, gt, visible, head_size, 0.5, keypoint_set)
    at1 = pckh(pred, gt, visible, head_size, 0.1, keypoint_set)
    out = {"PCKh@0.5": at5["mean"], "PCKh@0.1": at1["mean"], "PCKh@0.5_all": at5["mean_all"],
           "PCKh@0.1_all": at1["mean_all"]}  # fmt: skip
    out.update(at5["groups"])
    return out
