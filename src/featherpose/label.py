"""Pseudo-labelling: any model featherpose runs -> a COCO keypoint file, and merging such a file
into a human-labelled one.

* :func:`pseudo_label` runs an estimator over images and writes COCO ``images`` / ``annotations``
  (keypoints, bbox, area, score, num_keypoints) with the model's keypoint set as the category.
  Keypoints scoring under ``kpt_thr`` become unlabelled (v = 0); poses scoring under ``pose_thr`` or
  with fewer than ``min_keypoints`` labelled points are dropped (:func:`annotate`).
* :func:`merge` keeps every human label that exists in the output keypoint set, fills the points a
  human person lacks from the pseudo pose matched to it (Hungarian assignment on OKS over the
  keypoint names both sets share), and turns unmatched pseudo persons into extra persons, ignore
  regions (``iscrowd = 1`` boxes) or nothing.

``featherpose label`` (:mod:`featherpose.commands.label`) is the command line over both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from featherpose.skeletons import KeypointSet, keypoint_set_from_coco_category

UNMATCHED = ("person", "ignore", "drop")


def category_of(kset: KeypointSet, category_id: int = 1) -> dict:
    """A COCO ``categories`` entry describing ``kset`` (names, 1-based skeleton and flip pairs, sigmas)."""
    cat = {
        "id": category_id, "name": "person", "supercategory": "person", "keypoints": list(kset.keypoints),
        "skeleton": [[a + 1, b + 1] for a, b in kset.limbs],
        "flip_pairs": [[a + 1, b + 1] for a, b in kset.flip_pairs],
    }  # fmt: skip
    if kset.sigmas is not None:
        cat["sigmas"] = [float(s) for s in kset.sigmas]
    return cat


def keypoint_category(data: dict) -> dict:
    """The first ``categories`` entry of a COCO dict that has a ``keypoints`` list."""
    for cat in data.get("categories") or []:
        if isinstance(cat, dict) and isinstance(cat.get("keypoints"), list):
            return cat
    raise ValueError("no category with a 'keypoints' list")


def coco_keypoints(kps: np.ndarray) -> list[float | int]:
    """(K, 3) (x, y, v) -> the flat COCO list: x and y rounded to 0.01 px, v an integer."""
    out: list[float | int] = []
    for x, y, v in np.asarray(kps, np.float64).reshape(-1, 3):
        out += [round(float(x), 2), round(float(y), 2), int(v)]
    return out


def pose_annotation(
    keypoints: np.ndarray, score: float, image_id: int, ann_id: int, kpt_thr: float, pad: float = 0.1
) -> dict:
    """One COCO annotation from (K, 3) (x, y, score) keypoints: weak points get v = 0, the box is the
    labelled points' extent grown by ``pad`` per side."""
    kps = np.asarray(keypoints, np.float64).reshape(-1, 3)
    ok = kps[:, 2] >= kpt_thr
    flat = np.zeros_like(kps)
    flat[ok, :2] = kps[ok, :2]
    flat[ok, 2] = 2
    if ok.any():
        lo, hi = kps[ok, :2].min(0), kps[ok, :2].max(0)
        size = np.maximum(hi - lo, 1.0)
        lo, hi = lo - pad * size, hi + pad * size
        bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
    else:
        bbox = [0.0, 0.0, 0.0, 0.0]
    return {
        "id": int(ann_id), "image_id": int(image_id), "category_id": 1, "iscrowd": 0,
        "keypoints": coco_keypoints(flat), "num_keypoints": int(ok.sum()),
        "bbox": [round(v, 2) for v in bbox], "area": round(bbox[2] * bbox[3], 2), "score": round(float(score), 5),
    }  # fmt: skip


def annotate(
    poses: Iterable[tuple[np.ndarray, float]],
    image_id: int,
    first_id: int,
    kpt_thr: float = 0.3,
    pose_thr: float = 0.2,
    min_keypoints: int = 3,
) -> list[dict]:
    """COCO annotations (ids from ``first_id`` on) of the ``(keypoints (K, 3), score)`` poses of one
    image that score at least ``pose_thr`` and keep ``min_keypoints`` points at ``kpt_thr``."""
    out = []
    for keypoints, score in poses:
        ann = pose_annotation(keypoints, score, image_id, first_id + len(out), kpt_thr)
        if score >= pose_thr and ann["num_keypoints"] >= min_keypoints:
            out.append(ann)
    return out


def pseudo_label(
    predict: Callable[[Path], list],
    images: Sequence[Path],
    kset: KeypointSet,
    root: Path | None = None,
    kpt_thr: float = 0.3,
    pose_thr: float = 0.2,
    min_keypoints: int = 3,
    image_size: Callable[[Path], tuple[int, int]] | None = None,
    on_error: Callable[[Path, str], None] | None = None,
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> dict:
    """Run ``predict(path) -> [Pose]`` over ``images`` and return a COCO keypoint dict.

    ``file_name`` is relative to ``root`` (default: each image's folder); bad images are reported
    through ``on_error(path, reason)`` and skipped."""
    out: dict = {"images": [], "annotations": [], "categories": [category_of(kset)]}
    for image_id, path in enumerate(progress(images), start=1):
        path = Path(path)
        try:
            poses = predict(path)
            h, w = image_size(path) if image_size else (0, 0)
        except (ValueError, OSError) as exc:
            if on_error is None:
                raise
            on_error(path, str(exc))
            continue
        name = path.relative_to(root).as_posix() if root is not None else path.name
        out["images"].append({"id": image_id, "file_name": name, "width": int(w), "height": int(h)})
        found = [(p.keypoints, p.score) for p in poses]
        out["annotations"] += annotate(found, image_id, len(out["annotations"]) + 1, kpt_thr, pose_thr, min_keypoints)
    return out


def name_map(src: KeypointSet, dst: KeypointSet) -> list[tuple[int, int]]:
    """(source index, target index) for every keypoint name the two sets share."""
    index = {n: i for i, n in enumerate(dst.keypoints)}
    return [(i, index[n]) for i, n in enumerate(src.keypoints) if n in index]


def convert_keypoints(flat: Sequence[float], src: KeypointSet, dst: KeypointSet) -> np.ndarray:
    """COCO ``keypoints`` of set ``src`` -> (K_dst, 3) in set ``dst`` (names ``dst`` lacks are dropped,
    names ``src`` lacks are unlabelled)."""
    kps = np.asarray(flat, np.float64).reshape(-1, 3)
    out = np.zeros((dst.num_keypoints, 3))
    for i, j in name_map(src, dst):
        out[j] = kps[i]
    return out


def oks_matrix(a: np.ndarray, b: np.ndarray, areas: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """OKS of every (human ``a``, pseudo ``b``) pair over the points labelled in ``a`` and present in
    ``b`` (both (N, K, 3) in one keypoint set; ``areas`` of the ``a`` persons)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    var = (2 * np.asarray(sigmas)) ** 2
    d2 = ((a[:, None, :, :2] - b[None, :, :, :2]) ** 2).sum(-1)
    e = d2 / var / (np.maximum(areas, 1.0)[:, None, None] + np.spacing(1)) / 2
    valid = (a[:, None, :, 2] > 0) & (b[None, :, :, 2] > 0)
    num = (np.exp(-e) * valid).sum(-1)
    den = np.maximum((a[:, :, 2] > 0).sum(-1), 1)[:, None]
    return num / den


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every pair of (x, y, w, h) boxes: (N, 4) x (M, 4) -> (N, M)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, :2] + a[:, None, 2:], b[None, :, :2] + b[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    union = a[:, None, 2:].prod(-1) + b[None, :, 2:].prod(-1) - inter
    return inter / np.maximum(union, 1e-9)


def _area(ann: dict, kps: np.ndarray) -> float:
    """A person's area for OKS: ``area``, else its box's, else its labelled points' extent."""
    if ann.get("area"):
        return float(ann["area"])
    if ann.get("bbox"):
        return float(ann["bbox"][2]) * float(ann["bbox"][3])
    pts = kps[kps[:, 2] > 0, :2]
    return float(np.prod(pts.max(0) - pts.min(0))) if len(pts) else 0.0


def merge(
    human: dict,
    pseudo: dict,
    unmatched: str = "person",
    oks_thr: float = 0.3,
    overlap_thr: float = 0.3,
    extra_score: float = 0.3,
    extra_keypoints: int = 6,
) -> tuple[dict, dict]:
    """Merge a pseudo-label file into a human-labelled one (see the module docstring).

    The output uses the pseudo file's keypoint set and the human file's images (pseudo images that
    are not in it are left out); images are matched by ``file_name``. Human persons keep their ids
    and every labelled point whose name the output set has; points whose name it lacks are kept
    under ``unmapped_keypoints`` ({name: [x, y, v]}). Filled-in points get v = 2 and the person's
    ``pseudo_keypoints`` lists their names; crowd regions are never matched. An unmatched pseudo
    person whose box overlaps a human person's (IoU >= ``overlap_thr``) is a poor copy of that person
    and is dropped; the others become extra persons / ignore regions (``pseudo: true``, new ids) when
    they score at least ``extra_score`` with ``extra_keypoints`` points, else nothing. Returns the
    merged dict and counts: matched persons, filled points, extra persons, ignore regions, dropped
    duplicates, human images that have pseudo labels, pseudo images not in the human file."""
    if unmatched not in UNMATCHED:
        raise ValueError(f"unmatched must be one of {UNMATCHED}, got {unmatched!r}")
    h_cat, p_cat = keypoint_category(human), keypoint_category(pseudo)
    h_set, p_set = keypoint_set_from_coco_category(h_cat), keypoint_set_from_coco_category(p_cat)
    shared = name_map(h_set, p_set)
    if not shared:
        raise ValueError("the human and pseudo keypoint sets share no keypoint name")
    shared_dst = np.array([j for _, j in shared])
    unmapped = [(i, n) for i, n in enumerate(h_set.keypoints) if n not in p_set.keypoints]
    sigmas = np.asarray(p_set.sigmas if p_set.sigmas is not None else [0.05] * p_set.num_keypoints)
    k = p_set.num_keypoints
    h_cat_id, p_cat_id = h_cat.get("id", 1), p_cat.get("id", 1)

    by_name: dict[str, list[dict]] = {}
    pseudo_images = {im["id"]: im["file_name"] for im in pseudo["images"]}
    for ann in pseudo["annotations"]:
        if ann.get("category_id", p_cat_id) == p_cat_id:
            by_name.setdefault(pseudo_images[ann["image_id"]], []).append(ann)
    human_anns: dict[int, list[dict]] = {}
    for ann in human["annotations"]:
        if ann.get("category_id", h_cat_id) == h_cat_id:
            human_anns.setdefault(ann["image_id"], []).append(ann)
    human_names = {im["file_name"] for im in human["images"]}
    counts = {
        "matched": 0, "filled_points": 0, "extra_persons": 0, "ignore_regions": 0, "duplicates": 0,
        "images_labelled": len(human_names & set(pseudo_images.values())),
        "images_not_in_human": len(set(pseudo_images.values()) - human_names),
    }  # fmt: skip
    out_anns: list[dict] = []
    next_id = max((int(a.get("id", 0)) for anns in human_anns.values() for a in anns), default=0) + 1
    for im in human["images"]:
        hs = human_anns.get(im["id"], [])
        ps = by_name.get(im["file_name"], [])
        raw = [np.asarray(a.get("keypoints") or [0.0] * 3 * h_set.num_keypoints, np.float64) for a in hs]
        h_kps = np.array([convert_keypoints(r, h_set, p_set) for r in raw]).reshape(-1, k, 3)
        p_kps = np.array([np.asarray(a["keypoints"], np.float64).reshape(-1, 3) for a in ps]).reshape(-1, k, 3)
        areas = np.array([_area(a, kps) for a, kps in zip(hs, h_kps, strict=True)])
        sim = oks_matrix(h_kps[:, shared_dst], p_kps[:, shared_dst], areas, sigmas[shared_dst])
        pairs: dict[int, int] = {}
        if sim.size:
            sim[[bool(a.get("iscrowd", 0)) for a in hs]] = 0.0
            rows, cols = linear_sum_assignment(-sim)
            pairs = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= oks_thr and sim[r, c] > 0}
        for r, ann in enumerate(hs):
            kps = h_kps[r].copy()
            new = dict(ann, category_id=1)
            filled: list[str] = []
            if r in pairs:
                counts["matched"] += 1
                src = p_kps[pairs[r]]
                gap = (kps[:, 2] <= 0) & (src[:, 2] > 0)
                kps[gap] = src[gap]
                filled = [p_set.keypoints[j] for j in np.flatnonzero(gap)]
                counts["filled_points"] += len(filled)
            if "keypoints" in ann or filled:
                new["keypoints"] = coco_keypoints(kps)
                new["num_keypoints"] = int((kps[:, 2] > 0).sum())
            if filled:
                new["pseudo_keypoints"] = filled
            own = raw[r].reshape(-1, 3)
            lost = {n: [float(v) for v in own[i]] for i, n in unmapped if own[i, 2] > 0}
            if lost:
                new["unmapped_keypoints"] = lost
            out_anns.append(new)
        if unmatched == "drop":
            continue
        taken = set(pairs.values())
        overlap = box_iou([p["bbox"] for p in ps], [h["bbox"] for h in hs if "bbox" in h])
        for c, ann in enumerate(ps):
            if c in taken:
                continue
            if overlap.shape[1] and overlap[c].max() >= overlap_thr:
                counts["duplicates"] += 1
                continue
            if ann.get("score", 1.0) < extra_score or ann["num_keypoints"] < extra_keypoints:
                continue
            new = dict(ann, id=next_id, image_id=im["id"], category_id=1, pseudo=True)
            if unmatched == "ignore":
                new.update(iscrowd=1, num_keypoints=0, keypoints=[0] * (3 * k))
                counts["ignore_regions"] += 1
            else:
                counts["extra_persons"] += 1
            out_anns.append(new)
            next_id += 1
    merged = {
        "info": {"description": "human labels merged with featherpose pseudo labels"},
        "images": human["images"], "annotations": out_anns, "categories": [category_of(p_set)],
    }  # fmt: skip
    if "licenses" in human:
        merged["licenses"] = human["licenses"]
    return merged, counts


def write_json(data: dict, path: str | Path) -> Path:
    """Write a COCO dict atomically."""
    from featherpose.atomic import atomic_write

    def dump(tmp: Path) -> None:
        Path(tmp).write_text(json.dumps(data), encoding="utf-8")

    return atomic_write(path, dump)
