"""featherpose's trained weights next to the peers, scored on images the weights never saw.

.venv/bin/python benchmarks/pretrained.py [--models NAME=WEIGHTS | WEIGHTS | NAME ...] [--threads 2] [--quick]

Rows: every featherpose model given (default: the shipped weights of ``featherpose.pretrained``), Intel's
OMZ Lightweight OpenPose IR (through ``PoseEstimator``, height 368, width following the image) and
MoveNet SinglePose Lightning int8 (top-down on the same boxes; needs ``ai-edge-litert``). Columns:

* LSPET val (500 images, one annotated person each): PCK@0.2 of the torso (left shoulder - right hip)
  over the annotated joints the model also predicts, each person scored with its best-matching
  predicted pose (most joints within the threshold, ties by OKS); OKS AP (pycocotools) over the
  keypoint names both sides share, LSPET's sigmas. Top-down models get the ground-truth box.
* coco-mini val2017: COCO AP and AP over the 12 body joints; bottom-up models on whole images,
  top-down models on the shipped bottom-up detector's boxes and, in extra columns, on ground-truth boxes.
* CrowdPose fixtures (2 images): AP over the shared names (top-down: the fixture's detection results).
* Median end-to-end latency per LSPET image (read -> poses); top-down also with the detector.

Prints a markdown table, writes ``benchmarks/results/pretrained.json``; skips cleanly (exit 0) without
``../shared``. See docs/pretrained.md.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from featherpose import pretrained
from featherpose.evaluation import coco_keypoint_ap, pckh
from featherpose.inference import PoseEstimator, box_from_keypoints, load_detections
from featherpose.nms import oks_matrix, parallel_oks_nms
from featherpose.preprocess import crop_matrices, inverse, warp_crops
from featherpose.skeletons import COCO17, CROWDPOSE14, KeypointSet

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LSPET = SHARED / "data" / "lspet"
COCO_MINI = SHARED / "data" / "coco-mini"
CROWDPOSE = SHARED / "data" / "mmpose-fixtures" / "crowdpose"
OMZ = SHARED / "peers" / "omz-human-pose-estimation-0001" / "human-pose-estimation-0001.xml"
MOVENET_DIR = SHARED / "peers" / "movenet-lightning-int8"

BODY12 = COCO17.keypoints[5:]  # shoulders, elbows, wrists, hips, knees, ankles: shared by LSP, CrowdPose, COCO
PCK_THRESHOLD = 0.2
CROWDPOSE_AREA_FACTOR = 0.53  # CrowdPose has no areas: mmpose's estimate, 0.53 x box area
KPT_THR = 0.1  # PoseEstimator's keypoint threshold (pose score, detector boxes)
QUICK = {"lspet": 60, "coco": 20}
DETECTOR_LATENCY_IMAGES = 50  # top-down rows: the with-detector latency on the first LSPET images

Poses = list[tuple[np.ndarray, float]]  # per pose: (K, 3) x, y, score in the model's keypoint names; pose score


@dataclass
class Model:
    """One row. ``predict(path, boxes)``: boxes (M, 5) x, y, w, h, score for a top-down model, None to
    find them (bottom-up: always None; top-down: the detector, when ``has_detector``)."""

    name: str
    paradigm: str
    keypoints: tuple[str, ...]
    predict: Callable[[str, np.ndarray | None], Poses]
    weights: str
    has_detector: bool = False


# -- the models ------------------------------------------------------------------------------------
def cap_threads(est: PoseEstimator, threads: int) -> None:
    """PoseEstimator has no thread count here: cap its OpenVINO runner, which reads ``config`` at its
    first compile (torch is capped globally in ``main``; onnxruntime keeps its default)."""
    inner = getattr(est.runner, "runner", est.runner)  # external OpenPose files wrap their file runner
    if isinstance(getattr(inner, "config", None), dict):
        inner.config["INFERENCE_NUM_THREADS"] = threads


def estimator(model: str | None, weights: str | Path | None, args: argparse.Namespace, **kw: object) -> PoseEstimator:
    """``PoseEstimator(model, weights=...)``, or ``PoseEstimator(weights)`` for a self-describing weights
    file (``model`` None), at ``args.threads`` threads."""
    if "threads" in inspect.signature(PoseEstimator).parameters:
        kw["threads"] = args.threads
    if model is None:
        est = PoseEstimator(str(weights), backend=args.backend, precision=args.precision, **kw)
    else:
        est = PoseEstimator(model, weights=None if weights is None else str(weights), backend=args.backend,
                            precision=args.precision, **kw)  # fmt: skip
    cap_threads(est, args.threads)
    return est


def featherpose_model(label: str, est: PoseEstimator, weights: str, has_detector: bool = False) -> Model:
    def predict(path: str, boxes: np.ndarray | None) -> Poses:
        poses = est(path) if boxes is None else est(path, boxes=boxes)
        return [(np.asarray(p.keypoints, np.float32), float(p.score)) for p in poses]

    names = tuple(getattr(est, "output_keypoint_set", COCO17).keypoints)
    return Model(label, est.paradigm, names, predict, weights, has_detector and est.paradigm == "top-down")


def detector_boxes(detector: PoseEstimator, image: np.ndarray) -> np.ndarray:
    """(M, 5) person boxes as a top-down PoseEstimator takes them from its detector: each pose's
    keypoints above 0.1 grown by 10% a side, scored by the pose; the whole image when nobody is found."""
    poses = detector(image)
    if not poses:
        return np.array([[0.0, 0.0, image.shape[1], image.shape[0], 1.0]])
    boxes = np.array([[*box_from_keypoints(p.keypoints, KPT_THR, pad=0.1), p.score] for p in poses])
    boxes[:, 2:4] = np.maximum(boxes[:, 2:4], 1.0)
    return boxes


class MoveNet:
    """MoveNet SinglePose Lightning int8 (TFLite) as a top-down model: per box one 192x192 RGB crop
    (featherpose's crop, the square around the box), (y, x, score) back to image pixels, poses scored
    and suppressed as PoseEstimator's top-down path does (eq. 6 score, parallel OKS-NMS). Without
    boxes it asks ``detector`` for them."""

    size = (192, 192)
    # Google's reference crop (the MoveNet tutorial's determine_crop_region) is a square of ~1.2 x the
    # keypoints' extent; a person box (detector: that extent + 10% a side) already is one, so no
    # further padding (of 1.0 / 1.25 / 1.5 tried, 1.0 scored best: 0.37 / 0.31 / 0.28 AP on coco-mini GT boxes).
    padding = 1.0

    def __init__(self, path: Path, threads: int, detector: PoseEstimator | None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.detector = detector

    def __call__(self, path: str, boxes: np.ndarray | None) -> Poses:
        image = cv2.imread(path)
        if boxes is None:
            boxes = detector_boxes(self.detector, image)
        if not len(boxes):
            return []
        mats = crop_matrices(boxes[:, :4], self.size, padding=self.padding)
        crops = warp_crops(image, mats, self.size)[..., ::-1]  # BGR -> RGB
        kps = np.zeros((len(boxes), 17, 3), np.float32)
        for i, (crop, m) in enumerate(zip(crops, mats, strict=True)):
            self.interpreter.set_tensor(self.input, np.ascontiguousarray(crop[None]))
            self.interpreter.invoke()
            yxs = self.interpreter.get_tensor(self.output)[0, 0]
            xy = yxs[:, [1, 0]] * np.array(self.size[::-1]) - 0.5  # normalised -> crop pixels (centres at integers)
            back = inverse(m)
            kps[i, :, :2] = xy @ back[:, :2].T + back[:, 2]
            kps[i, :, 2] = yxs[:, 2]
        keep, conf = parallel_oks_nms(kps, boxes[:, 4], boxes[:, 2] * boxes[:, 3], COCO17.sigmas_array(), KPT_THR, 0.0)
        return [(kps[k], float(c)) for k, c in zip(keep, conf, strict=True)]


def parse_models(specs: list[str] | None) -> tuple[list[tuple[str | None, str]], list[dict]]:
    """``NAME=WEIGHTS`` / ``WEIGHTS`` (a self-describing file) / ``NAME`` (its shipped weights); default:
    every shipped model. Returns ([(name or None, weights)], skipped rows)."""
    out, skipped = [], []
    for spec in specs if specs is not None else list(pretrained.PRETRAINED):
        if "=" in spec:
            name, weights = spec.split("=", 1)
            out.append((name, weights))
        elif spec.endswith(".safetensors") or Path(spec).exists():
            out.append((None, spec))
        elif (shipped := pretrained.shipped(spec)) is not None:
            out.append((spec, str(shipped)))
        else:
            reason = f"no shipped weights in {rel(pretrained.WEIGHTS_DIR)} (pass NAME=WEIGHTS)"
            skipped.append({"name": spec, "reason": reason})
    return out, skipped


def build_models(args: argparse.Namespace) -> tuple[list[Model], list[dict], dict]:
    """The rows to score, the rows skipped (with a one-line reason) and which detector top-down rows use."""
    given, skipped = parse_models(args.models)
    det_name, _, det_weights = (args.detector or pretrained.DEFAULT_DETECTOR).partition("=")
    det_weights = det_weights or next((w for n, w in given if n == det_name), None) or pretrained.shipped(det_name)
    detector, det_info = None, {"name": det_name, "weights": rel(det_weights) if det_weights else None}
    try:
        detector = estimator(det_name, det_weights, args) if det_weights else None
    except Exception as err:  # reported; top-down rows then run on boxes only
        det_info["error"] = f"{type(err).__name__}: {err}".splitlines()[0]
    if detector is None:
        reason = det_info.get("error", "no weights given or shipped")
        skipped.append({"name": f"detector {det_name}", "reason": f"{reason}: top-down rows get no detector columns"})
    models = []
    for name, weights in given:
        label = name or str(weights)
        try:
            if detector is not None and (name, str(weights)) == (det_name, str(det_weights)):
                est = detector  # the detector's own row: one estimator for both
            else:
                est = estimator(name, weights, args, **({"detector": detector} if detector else {}))
            label = name or est.spec.name  # a self-describing file says which model it is
            models.append(featherpose_model(f"featherpose {label}", est, weights, detector is not None))
        except Exception as err:  # a row that cannot be built is reported, the rest still run
            skipped.append({"name": label, "reason": f"{type(err).__name__}: {err}".splitlines()[0]})
    if "omz" in args.peers:
        if OMZ.is_file():
            est = estimator(None, OMZ, argparse.Namespace(**{**vars(args), "backend": "openvino"}),
                            input_size=args.height)  # fmt: skip
            models.append(featherpose_model(f"OMZ human-pose-estimation-0001 (h{args.height})", est, rel(OMZ)))
        else:
            skipped.append({"name": "OMZ human-pose-estimation-0001", "reason": f"{rel(OMZ)} is absent"})
    if "movenet" in args.peers:
        files = sorted(MOVENET_DIR.glob("*.tflite"))
        try:
            if not files:
                raise FileNotFoundError(f"no .tflite file in {rel(MOVENET_DIR)}")
            net = MoveNet(files[0], args.threads, detector)
            models.append(Model("MoveNet Lightning int8", "top-down", COCO17.keypoints, net, rel(files[0]),
                                detector is not None))  # fmt: skip
        except ImportError:
            reason = "ai-edge-litert is not installed (pip install 'featherpose[peers]')"
            skipped.append({"name": "MoveNet Lightning int8", "reason": reason})
        except FileNotFoundError as err:
            skipped.append({"name": "MoveNet Lightning int8", "reason": str(err)})
    return models, skipped, det_info


# -- scoring helpers -------------------------------------------------------------------------------
def rel(path: str | Path) -> str:
    """A path beside the repository as written from its root (``../shared/...``); others absolute."""
    p = Path(path).resolve()
    return os.path.relpath(p, REPO) if p.is_relative_to(REPO.parent) else str(p)


def load(path: Path, limit: int = 0) -> dict:
    """A COCO annotation dict, cut to its first ``limit`` images (0: all)."""
    gt = json.loads(path.read_text())
    if limit:
        gt["images"] = gt["images"][:limit]
        ids = {im["id"] for im in gt["images"]}
        gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in ids]
    return gt


def reorder(kps: np.ndarray, src: tuple[str, ...] | list[str], dst: tuple[str, ...] | list[str]) -> np.ndarray:
    """(K, 3) keypoints named ``src`` -> (len(dst), 3) named ``dst`` (zeros where ``src`` lacks a name)."""
    kps = np.asarray(kps, np.float64).reshape(len(src), 3)
    out = np.zeros((len(dst), 3))
    for j, name in enumerate(dst):
        if name in src:
            out[j] = kps[list(src).index(name)]
    return out


def restrict(gt: dict, names: list[str] | tuple[str, ...], sigmas: list[float]) -> dict:
    """``gt`` with its keypoint category cut to ``names`` (OKS ``sigmas`` for them)."""
    cat = gt["categories"][0]
    anns = []
    for a in gt["annotations"]:
        k = reorder(a["keypoints"], cat["keypoints"], names)
        anns.append({**a, "keypoints": k.reshape(-1).tolist(), "num_keypoints": int((k[:, 2] > 0).sum())})
    category = {"id": cat["id"], "name": cat["name"], "supercategory": cat.get("supercategory", "person"),
                "keypoints": list(names), "skeleton": [], "sigmas": list(sigmas)}  # fmt: skip
    return {**gt, "annotations": anns, "categories": [category]}


def sigmas_for(names: list[str] | tuple[str, ...], category: dict | KeypointSet) -> list[float]:
    if isinstance(category, KeypointSet):
        return [float(category.sigmas[category.index(n)]) for n in names]
    return [float(category["sigmas"][category["keypoints"].index(n)]) for n in names]


def keypoint_ap(gt: dict, preds: dict[int, Poses], src: tuple[str, ...]) -> dict:
    """OKS AP / AP50 / AR (pycocotools through featherpose) of every predicted pose, converted to the
    names of ``gt``'s category."""
    cat = gt["categories"][0]
    results = [{"image_id": i, "category_id": cat["id"], "score": s,
                "keypoints": reorder(k, src, cat["keypoints"]).reshape(-1).tolist()}
               for i, poses in preds.items() for k, s in poses]  # fmt: skip
    m = coco_keypoint_ap(gt, results, sigmas=np.asarray(cat["sigmas"]) if "sigmas" in cat else None)
    return {"AP": m["AP"], "AP50": m["AP50"], "AR": m["AR"], "poses": len(results)}


def best_match(gt: np.ndarray, cands: np.ndarray, radius: float, area: float, sigmas: list[float]) -> np.ndarray:
    """(K, 2) coordinates of the candidate (M, K, 3) with the most labelled joints of ``gt`` (K, 3)
    within ``radius``, ties by OKS; NaN where the candidate found no joint (or there is none)."""
    if not len(cands):
        return np.full((len(gt), 2), np.nan)
    xy = np.where(cands[..., 2:] > 0, cands[..., :2], np.nan)
    hits = ((np.linalg.norm(xy - gt[:, :2], axis=-1) <= radius) & (gt[:, 2] > 0)).sum(1)
    oks = oks_matrix(gt[None], cands, np.array([area]), np.asarray(sigmas))[0]
    return xy[max(range(len(cands)), key=lambda j: (hits[j], oks[j]))]


def torso_pck(gt: dict, preds: dict[int, Poses], src: tuple[str, ...], names: list[str]) -> dict:
    """PCK@0.2 of the torso (|left shoulder - right hip| of the person) over ``names``, per annotated
    person with its best-matching pose; persons without both torso joints are left out (counted).
    The counting is featherpose's PCKh code with the torso as the normaliser. ``PCK_all_labelled``
    also counts the labelled joints the model cannot predict (names outside ``names``) as misses."""
    cat = gt["categories"][0]
    sigmas = sigmas_for(names, cat)
    unpredicted = [i for i, n in enumerate(cat["keypoints"]) if n not in names]
    pred, truth, torso, no_torso, missed = [], [], [], 0, 0
    for a in gt["annotations"]:
        full = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
        ls, rh = (full[cat["keypoints"].index(n)] for n in ("left_shoulder", "right_hip"))
        size = float(np.linalg.norm(ls[:2] - rh[:2]))
        if ls[2] <= 0 or rh[2] <= 0 or size <= 0:
            no_torso += 1
            continue
        g = reorder(full, cat["keypoints"], names)
        cands = np.array([reorder(k, src, names) for k, _ in preds.get(a["image_id"], [])]).reshape(-1, len(names), 3)
        pred.append(best_match(g, cands, PCK_THRESHOLD * size, a["area"], sigmas))
        truth.append(g)
        torso.append(size)
        missed += int((full[unpredicted, 2] > 0).sum())
    kset = KeypointSet("shared", tuple(names), (), ())
    truth_arr = np.array(truth).reshape(-1, len(names), 3)
    res = pckh(np.array(pred).reshape(-1, len(names), 2), truth_arr[..., :2], truth_arr[..., 2], np.array(torso),
               PCK_THRESHOLD, keypoint_set=kset)  # fmt: skip
    joints = int(sum(res["count"].values()))
    return {"PCK": res["mean_all"] / 100, "PCK_per_joint": {n: v / 100 for n, v in res["per_joint"].items()},
            "PCK_all_labelled": res["mean_all"] / 100 * joints / max(joints + missed, 1),
            "persons": len(truth), "persons_without_torso": no_torso, "joints": joints,
            "labelled_joints_not_predicted": missed}  # fmt: skip


def run(model: Model, folder: Path, images: list[dict], boxes: dict | None) -> tuple[dict[int, Poses], list[float]]:
    """``model`` on every image (after one untimed warm-up call); ``boxes``: image id -> (M, 5), or
    None for the model's own way of finding people. Returns poses per image id, seconds per image."""

    def call(im: dict) -> Poses:
        b = None if boxes is None else boxes.get(im["id"], np.zeros((0, 5)))
        return model.predict(str(folder / im["file_name"]), b)

    call(images[0])
    preds, times = {}, []
    for im in images:
        t0 = time.perf_counter()
        preds[im["id"]] = call(im)
        times.append(time.perf_counter() - t0)
    return preds, times


def gt_boxes(gt: dict) -> dict[int, np.ndarray]:
    """Image id -> (M, 5) boxes (score 1) of the non-crowd persons with labelled keypoints."""
    out: dict[int, list] = {}
    for a in gt["annotations"]:
        if not a.get("iscrowd", 0) and a.get("num_keypoints", 1) > 0 and a["bbox"][2] > 0 and a["bbox"][3] > 0:
            out.setdefault(a["image_id"], []).append([*a["bbox"], 1.0])
    return {k: np.array(v) for k, v in out.items()}


def ms(times: list[float]) -> float:
    return 1e3 * float(np.median(times))


# -- the datasets ----------------------------------------------------------------------------------
def score_lspet(model: Model, limit: int) -> dict:
    gt = load(LSPET / "annotations" / "lspet_val.json", limit)
    cat = gt["categories"][0]
    names = [n for n in cat["keypoints"] if n in model.keypoints]
    boxes = gt_boxes(gt) if model.paradigm == "top-down" else None
    preds, times = run(model, LSPET / "images", gt["images"], boxes)
    out = {"images": len(gt["images"]), "keypoints": names, "boxes": "ground truth" if boxes else "whole image",
           **torso_pck(gt, preds, model.keypoints, names),
           **keypoint_ap(restrict(gt, names, sigmas_for(names, cat)), preds, model.keypoints),
           "ms": ms(times)}  # fmt: skip
    if model.has_detector:  # the whole pipeline a user runs: detector, then the top-down model
        out["ms_detector"] = ms(run(model, LSPET / "images", gt["images"][:DETECTOR_LATENCY_IMAGES], None)[1])
    return out


def score_coco(model: Model, limit: int) -> dict:
    gt = load(COCO_MINI / "annotations" / "person_keypoints_val2017.json", limit)
    body = restrict(gt, BODY12, sigmas_for(BODY12, COCO17))
    settings = {"detected": None}
    if model.paradigm == "top-down":
        settings = {"gt_boxes": gt_boxes(gt), **({"detected": None} if model.has_detector else {})}
    out: dict = {"images": len(gt["images"])}
    for setting, boxes in settings.items():
        preds, _ = run(model, COCO_MINI / "val2017", gt["images"], boxes)
        full, part = keypoint_ap(gt, preds, model.keypoints), keypoint_ap(body, preds, model.keypoints)
        out[setting] = {**full, "AP_body": part["AP"], "AP50_body": part["AP50"], "AR_body": part["AR"]}
    if model.paradigm == "top-down" and not model.has_detector:
        out["detected"] = {"skipped": "no trained bottom-up detector weights"}
    return out


def score_crowdpose(model: Model) -> dict:
    gt = load(CROWDPOSE / "test_crowdpose.json")
    for a in gt["annotations"]:
        a.setdefault("area", CROWDPOSE_AREA_FACTOR * a["bbox"][2] * a["bbox"][3])
    names = [n for n in gt["categories"][0]["keypoints"] if n in model.keypoints]
    boxes = None
    if model.paradigm == "top-down":
        dets = load_detections(CROWDPOSE / "test_crowdpose_det_AP_40.json")
        boxes = {i: np.concatenate([b, s[:, None]], 1) for i, (b, s) in dets.items()}
    preds, _ = run(model, CROWDPOSE, gt["images"], boxes)
    return {"images": len(gt["images"]), "keypoints": names,
            "boxes": "detection results file" if boxes else "whole image",
            **keypoint_ap(restrict(gt, names, sigmas_for(names, CROWDPOSE14)), preds, model.keypoints)}  # fmt: skip


# -- report ----------------------------------------------------------------------------------------
COLUMNS = (  # header, path into a row's results
    ("LSPET PCK@0.2", ("lspet", "PCK")),
    ("LSPET AP", ("lspet", "AP")),
    ("COCO AP", ("coco", "detected", "AP")),
    ("COCO AP body-12", ("coco", "detected", "AP_body")),
    ("COCO AP GT boxes", ("coco", "gt_boxes", "AP")),
    ("COCO AP body-12 GT boxes", ("coco", "gt_boxes", "AP_body")),
    ("CrowdPose AP", ("crowdpose", "AP")),
    ("ms/img LSPET", ("lspet", "ms")),
    ("ms/img with detector", ("lspet", "ms_detector")),
)


def table(rows: list[dict], skipped: list[dict]) -> str:
    lines = ["| model | paradigm | " + " | ".join(h for h, _ in COLUMNS) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]  # fmt: skip
    for r in rows:
        cells = []
        for header, path in COLUMNS:
            v: object = r
            for key in path:
                v = v.get(key) if isinstance(v, dict) else None
            cells.append("-" if v is None else f"{v:.1f}" if header.startswith("ms") else f"{v:.3f}")
        lines.append(f"| {r['name']} | {r['paradigm']} | " + " | ".join(cells) + " |")
    if skipped:
        lines += [""] + [f"- skipped: {s['name']}: {s['reason']}" for s in skipped]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", help="NAME=WEIGHTS, WEIGHTS or NAME (default: every shipped model)")
    ap.add_argument("--detector", help="NAME[=WEIGHTS] for top-down models (default: featherpose.pretrained."
                                       "DEFAULT_DETECTOR with the weights given for it, else shipped)")  # fmt: skip
    ap.add_argument("--peers", default="omz,movenet", help="comma list of omz, movenet (or none)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--height", type=int, default=368, help="OMZ input height (width follows the image)")
    ap.add_argument("--quick", action="store_true", help=f"subsets: {QUICK}")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pretrained.json")
    args = ap.parse_args()
    args.peers = [p for p in args.peers.split(",") if p and p != "none"]
    missing = [rel(p) for p in (LSPET, COCO_MINI, CROWDPOSE) if not p.exists()]
    if missing:
        print(f"{', '.join(missing)} absent: nothing to score (the data lives in ../shared)", file=sys.stderr)
        return 0
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    models, skipped, detector = build_models(args)
    limits = QUICK if args.quick else {"lspet": 0, "coco": 0}
    rows = []
    for model in models:
        t0 = time.perf_counter()
        row = {"name": model.name, "paradigm": model.paradigm, "weights": rel(model.weights),
               "lspet": score_lspet(model, limits["lspet"]), "coco": score_coco(model, limits["coco"]),
               "crowdpose": score_crowdpose(model)}  # fmt: skip
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print(f"{model.name}: {row['seconds']} s", file=sys.stderr)
    text = table(rows, skipped)
    print(text)
    out = {"settings": {"threads": args.threads, "backend": args.backend, "precision": args.precision,
                        "omz_height": args.height, "quick": args.quick, "detector": detector,
                        "movenet_padding": MoveNet.padding,
                        "pck_threshold": PCK_THRESHOLD},
           "rows": rows, "skipped": skipped, "table": text,
           "seconds": round(time.perf_counter() - t_start, 1), "load_avg_1min": os.getloadavg()[0]}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {rel(args.out)} ({out['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
