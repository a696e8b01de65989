"""Hard vs soft vs parallel OKS-NMS on candidate poses built from the real coco-mini annotations.

Scenarios (per image with keypointed people, N candidate poses): ``detector_boxes`` — one pose per
redundant detector box around each person, error growing with box drift, plus 10% false-positive boxes
(see :func:`build_detector_candidates`); ``duplicates`` — near-identical jittered copies of each person
plus 20% false positives; ``poor_copies`` — the same with one copy in ten a poor estimate. Every
method runs on the same candidates; time = per image call (pose score included), median over repeats
with the methods interleaved inside each repeat, plus the median per-repeat ratio to ``hard``; AP of
what each keeps by pycocotools. Prints a table and writes ``benchmarks/results/nms.json``.

    .venv/bin/python benchmarks/nms.py [--sizes 10 100 1000] [--repeats 5] [--seed 0]
        [--scenarios detector_boxes duplicates poor_copies] [--methods hard parallel ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from featherpose.evaluation import coco_keypoint_ap, load_coco
from featherpose.nms import oks_nms, parallel_oks_nms, pose_score, soft_oks_nms
from featherpose.skeletons import COCO17

ROOT = Path(__file__).resolve().parents[1]
ANNOTATIONS = ROOT.parent / "shared" / "data" / "coco-mini" / "annotations"
SPLITS = ("val2017", "train2017")
KPT_THR = 0.1  # paper 002, Algorithm 1 step 1: used for eq. 6 and the OKS mask by every method
FP_FRACTION = 0.2
# Scenario -> fraction of duplicates that are poor estimates.
SCENARIOS = {"duplicates": 0.0, "poor_copies": 0.1}


def _people(coco) -> tuple[list[np.ndarray], dict[int, list[dict]]]:
    """The annotated persons' keypoint arrays (a pool of real pose shapes) and the persons per image."""
    people = [a for a in coco.dataset["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]
    pool = [np.asarray(a["keypoints"], float).reshape(-1, 3) for a in people]
    by_image: dict[int, list[dict]] = {}
    for a in people:
        by_image.setdefault(a["image_id"], []).append(a)
    return pool, by_image


def _split(n: int, n_people: int, fp_fraction: float) -> tuple[int, list[int]]:
    """``n`` candidates of one image: how many false positives, and how many copies of each person."""
    n_fp = max(1, round(fp_fraction * n))
    copies = [0] * n_people
    for c in range(n - n_fp):
        copies[c % n_people] += 1
    return n_fp, copies


def _false_positive(rng: np.random.Generator, pool: list[np.ndarray], img: dict, score_hi: float) -> tuple:
    """A real pose shape, rescaled and placed at random in the image, with low scores (<= ``score_hi``):
    (pose (17, 3), box score, area)."""
    src = pool[rng.integers(len(pool))]
    v = src[:, 2] > 0
    pts = src[v, :2]
    centre = pts.mean(axis=0)
    s = rng.uniform(0.5, 1.5)
    pose = np.empty((17, 3))
    pose[:, :2] = (np.where(v[:, None], src[:, :2], centre) - centre) * s
    pose[:, :2] += rng.uniform([0, 0], [img["width"], img["height"]])
    pose[:, 2] = np.where(v, rng.uniform(0.05, score_hi, 17), rng.uniform(0, 0.1, 17))
    extent = (np.ptp(pts, axis=0) * s + 10.0) if len(pts) > 1 else np.array([40.0, 80.0])
    return pose, rng.uniform(0.05, score_hi), float(extent[0] * extent[1])


def build_candidates(coco, n: int, rng: np.random.Generator, bad_rate: float = 0.0) -> list[dict]:
    """Per image: ``n`` candidate poses (copies of each GT person + false positives)."""
    sig = COCO17.sigmas_array()
    pool, by_image = _people(coco)
    sets = []
    for image_id, anns in sorted(by_image.items()):
        img = coco.imgs[image_id]
        n_fp, copies = _split(n, len(anns), FP_FRACTION)
        poses, box_scores, areas = [], [], []
        for a, n_copies in zip(anns, copies, strict=True):
            gt = np.asarray(a["keypoints"], float).reshape(-1, 3)
            x, y, w, h = a["bbox"]
            scale = np.sqrt(max(a["area"], 1.0))
            vis = gt[:, 2] > 0
            base = rng.uniform(0.75, 1.0)
            for c in range(n_copies):
                # Duplicates from overlapping boxes of one person are near-identical (pairwise OKS
                # ~0.95-1); a fraction ``bad_rate`` of them are poor estimates (kappa 0.3-0.8, OKS ~0.6-0.9).
                bad = c > 0 and rng.random() < bad_rate
                kappa = rng.uniform(0.3, 0.8) if bad else rng.uniform(0.02, 0.12)
                pose = np.empty((17, 3))
                pose[:, :2] = np.where(vis[:, None], gt[:, :2], [x + w / 2, y + h / 2])
                pose[:, :2] += rng.normal(0, 1, (17, 2)) * (kappa * 2 * sig * scale)[:, None]
                pose[:, :2] += rng.normal(0, 0.01 * scale, 2)
                pose[~vis, :2] += rng.normal(0, 0.3 * scale, (int((~vis).sum()), 2))
                pose[:, 2] = np.where(vis, rng.uniform(0.5, 1.0, 17) * np.exp(-kappa), rng.uniform(0, 0.1, 17))
                poses.append(pose)
                box_scores.append(base * 0.97**c * rng.uniform(0.95, 1.0))
                areas.append(w * h * rng.uniform(0.85, 1.15))
        for _ in range(n_fp):
            pose, box_score, area = _false_positive(rng, pool, img, 0.6)
            poses.append(pose)
            box_scores.append(box_score)
            areas.append(area)
        sets.append({"image_id": image_id, "poses": np.asarray(poses), "box_scores": np.asarray(box_scores),
                     "areas": np.asarray(areas)})  # fmt: skip
    return sets


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``[x, y, w, h]`` boxes."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


def build_detector_candidates(coco, n: int, rng: np.random.Generator, fp_fraction: float = 0.1) -> list[dict]:
    """Top-down scenario (paper 002's setting): one pose per detector box.

    Per image, ``n`` boxes: redundant detector boxes around each annotated person (box shifted by
    N(0, 0.12) of its size, log-size N(0, 0.12); box score = person base score x (0.6 + 0.4 IoU) so
    the best-aligned box tends to score highest) plus ``fp_fraction`` false-positive boxes (real pose
    shapes placed at random, low box and keypoint scores). The pose of a box is the person's ground
    truth with an error that grows as the box drifts (kappa = 0.03 + 0.5 (1 - IoU), in units of
    2 sigma sqrt(area) per keypoint); keypoints that fall outside the crop (the box enlarged by 1.25,
    as top-down pipelines crop) are clamped to it with low scores. Area passed to NMS = box area.
    """
    sig = COCO17.sigmas_array()
    pool, by_image = _people(coco)
    sets = []
    for image_id, anns in sorted(by_image.items()):
        img = coco.imgs[image_id]
        n_fp, copies = _split(n, len(anns), fp_fraction)
        poses, box_scores, areas = [], [], []
        for a, n_copies in zip(anns, copies, strict=True):
            gt = np.asarray(a["keypoints"], float).reshape(-1, 3)
            gt_box = np.asarray(a["bbox"], float)
            gt_box[2:] = np.maximum(gt_box[2:], 4.0)
            scale = np.sqrt(max(a["area"], 1.0))
            vis = gt[:, 2] > 0
            base = rng.uniform(0.6, 1.0)
            for c in range(n_copies):
                spread = 0.03 if c == 0 else 0.12
                w, h = gt_box[2:] * np.exp(rng.normal(0, spread, 2))
                cx, cy = gt_box[:2] + gt_box[2:] / 2 + rng.normal(0, spread, 2) * gt_box[2:]
                box = np.array([cx - w / 2, cy - h / 2, w, h])
                iou = _iou(box, gt_box)
                kappa = 0.03 + 0.5 * (1.0 - iou)
                pose = np.empty((17, 3))
                pose[:, :2] = np.where(vis[:, None], gt[:, :2], [cx, cy])
                pose[:, :2] += rng.normal(0, 1, (17, 2)) * (kappa * 2 * sig * scale)[:, None]
                pose[~vis, :2] += rng.normal(0, 0.3 * scale, (int((~vis).sum()), 2))
                pose[:, 2] = np.where(vis, rng.uniform(0.5, 1.0, 17) * np.exp(-kappa), rng.uniform(0, 0.15, 17))
                lo = np.array([cx - 0.625 * w, cy - 0.625 * h])
                hi = np.array([cx + 0.625 * w, cy + 0.625 * h])
                outside = np.any((pose[:, :2] < lo) | (pose[:, :2] > hi), axis=1)
                pose[:, :2] = np.clip(pose[:, :2], lo, hi)
                pose[outside, 2] *= rng.uniform(0.1, 0.4, int(outside.sum()))
                poses.append(pose)
                box_scores.append(base * (0.6 + 0.4 * iou) * rng.uniform(0.95, 1.0))
                areas.append(w * h)
        for _ in range(n_fp):
            pose, box_score, area = _false_positive(rng, pool, img, 0.5)
            poses.append(pose)
            box_scores.append(box_score)
            areas.append(area)
        sets.append({"image_id": image_id, "poses": np.asarray(poses), "box_scores": np.asarray(box_scores),
                     "areas": np.asarray(areas)})  # fmt: skip
    return sets


def _none(c):
    p = pose_score(c["poses"][:, :, 2], c["box_scores"], KPT_THR)
    return np.arange(len(p)), p


def _hard(c):
    p = pose_score(c["poses"][:, :, 2], c["box_scores"], KPT_THR)
    keep = oks_nms(c["poses"], p, c["areas"], COCO17.sigmas_array(), thr=0.9, vis_thr=KPT_THR)
    return keep, p[keep]


def _soft(c):
    p = pose_score(c["poses"][:, :, 2], c["box_scores"], KPT_THR)
    return soft_oks_nms(c["poses"], p, c["areas"], COCO17.sigmas_array(), vis_thr=KPT_THR)


def _parallel(mode: str, kernel: str):
    def fn(c):
        return parallel_oks_nms(c["poses"], c["box_scores"], c["areas"], COCO17.sigmas_array(), kpt_thr=KPT_THR,
                                mode=mode, kernel=kernel)  # fmt: skip

    return fn


# parallel = the library default (mode "hard": the OKS matrix thresholded at 0.9, exact via fixed-point
# steps); parallel_matrix[_gauss] = one-shot threshold of the compensated decay (eq. 10 linear, or
# Matrix-NMS's Gaussian kernel, sigma 2); parallel_soft[_gauss] = Algorithm 1 step 12 literally
# (p <- decay p, keep p > 0.05).
METHODS = {
    "none": _none,
    "hard": _hard,
    "soft": _soft,
    "parallel": _parallel("hard", "linear"),
    "parallel_matrix": _parallel("matrix", "linear"),
    "parallel_matrix_gauss": _parallel("matrix", "gaussian"),
    "parallel_soft": _parallel("soft", "linear"),
    "parallel_soft_gauss": _parallel("soft", "gaussian"),
}


def time_methods(methods: dict, sets: list[dict], repeats: int) -> dict[str, tuple[float, float]]:
    """Per method: median over repeats of the mean per-image call time (ms), and the median of the
    per-repeat ratio to ``hard``'s time. Methods are interleaved inside every repeat so that load
    changes on a shared machine hit them alike."""
    totals: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            for c in sets:
                fn(c)
            totals[name].append(time.perf_counter() - t0)
    ref = totals.get("hard")
    out = {}
    for name, t in totals.items():
        ratio = statistics.median(a / b for a, b in zip(t, ref, strict=True)) if ref else float("nan")
        out[name] = (1e3 * statistics.median(t) / len(sets), ratio)
    return out


def score_method(coco, fn, sets: list[dict]) -> dict:
    """COCO keypoint AP of what one method keeps."""
    results, kept = [], 0
    for c in sets:
        keep, scores = fn(c)
        kept += len(keep)
        for i, s in zip(keep, scores, strict=True):
            results.append({"image_id": c["image_id"], "category_id": 1, "score": float(s),
                            "keypoints": c["poses"][i].reshape(-1).round(2).tolist()})  # fmt: skip
    m = coco_keypoint_ap(coco, results)
    return {"kept": kept, **{k: round(m[k], 4) for k in ("AP", "AP50", "AP75", "AR")}}


def scenario_sets(scenario: str, coco, n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    if scenario == "detector_boxes":
        return build_detector_candidates(coco, n, rng)
    return build_candidates(coco, n, rng, SCENARIOS[scenario])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenarios", nargs="+", default=["detector_boxes", *SCENARIOS])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "nms.json")
    args = ap.parse_args()
    if not ANNOTATIONS.exists():
        raise SystemExit(f"{ANNOTATIONS} is absent: the real data lives in ../shared beside the checkout")
    methods = {k: METHODS[k] for k in args.methods}
    head = ("scenario", "split", "N", "method", "ms/call", "x hard", "kept", "AP", "AP50", "AP75", "AR")
    print("{:<14} {:<10} {:>5} {:<22} {:>9} {:>7} {:>6} {:>6} {:>6} {:>6} {:>6}".format(*head))
    rows = []
    for scenario in args.scenarios:
        for split in SPLITS:
            coco = load_coco(ANNOTATIONS / f"person_keypoints_{split}.json")
            for n in args.sizes:
                sets = scenario_sets(scenario, coco, n, args.seed)
                timed = time_methods({k: f for k, f in methods.items() if k != "none"}, sets, args.repeats)
                timed.setdefault("none", (float("nan"), float("nan")))
                for name, fn in methods.items():
                    ms, ratio = timed[name]
                    row = {"scenario": scenario, "split": split, "N": n, "method": name, "images": len(sets),
                           "ms_per_call": round(ms, 3), "time_vs_hard": round(ratio, 3),
                           **score_method(coco, fn, sets)}  # fmt: skip
                    rows.append(row)
                    print(
                        f"{scenario:<14} {split:<10} {n:>5} {name:<22} {ms:>9.3f} {ratio:>7.3f} {row['kept']:>6} "
                        f"{row['AP']:>6.3f} {row['AP50']:>6.3f} {row['AP75']:>6.3f} {row['AR']:>6.3f}",
                        flush=True,
                    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "processor": platform.processor(), "repeats": args.repeats, "seed": args.seed, "kpt_thr": KPT_THR,
            "fp_fraction": FP_FRACTION, "scenarios": {"detector_boxes": "see build_detector_candidates",
                                                      **SCENARIOS}}  # fmt: skip
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
