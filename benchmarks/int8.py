"""INT8 (and bf16) against fp32: output drift, pose agreement and speed, on coco-mini.

.venv/bin/python benchmarks/int8.py [--models mobileposenet,ghostpose] [--calib DIR|GLOB|JSON] [--calib-count 32]

What is measured is **agreement**: the fp32 model's poses on coco-mini val2017 are taken as ground
truth and the reduced-precision poses are scored against them with pycocotools (AP = 1.0: identical
poses), next to the output drift and the network latency of each variant. Models with shipped weights
use them (the others carry random weights, whose flat maps make the agreement a pessimistic bound).
Calibration: ``--calib``, default featherpose's (LSPET train when ../shared is there, else coco-mini
train2017), never the val2017 images scored. Top-down models get the ground-truth person boxes. The
INT8 accuracy against real labels (LSPET val, coco-mini) and the end-to-end speed-up of the shipped
pipelines are in benchmarks/peers.py's table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
COCO = REPO.parent / "shared" / "data" / "coco-mini"


def predictions(est: object, images: list[dict], boxes: dict) -> list[dict]:
    out = []
    for im in images:
        path = str(COCO / "val2017" / im["file_name"])
        b = boxes.get(im["id"]) if est.paradigm == "top-down" else None
        if est.paradigm == "top-down" and not b:
            continue
        poses = est(path, boxes=np.array(b) if b else None)
        out += [p.to_coco(im["id"]) for p in poses]
    return out


def as_ground_truth(preds: list[dict], images: list[dict], thr: float = -1.0) -> dict:
    """fp32 predictions as a COCO keypoint ground truth (keypoints scoring above ``thr`` labelled:
    by default every keypoint a pose has, since random-weight maps score far below any usual cut)."""
    anns = []
    for i, p in enumerate(preds):
        kp = np.asarray(p["keypoints"], np.float64).reshape(-1, 3)
        vis = (kp[:, 2] > thr) & ((kp[:, 0] != 0) | (kp[:, 1] != 0))
        if vis.sum() < 2:
            continue
        x, y, w, h = p["bbox"]
        flat = np.concatenate([kp[:, :2], np.where(vis, 2, 0)[:, None]], 1).reshape(-1)
        anns.append({"id": i + 1, "image_id": p["image_id"], "category_id": 1, "iscrowd": 0,
                     "keypoints": [float(v) for v in flat], "num_keypoints": int(vis.sum()),
                     "bbox": [x, y, max(w, 1.0), max(h, 1.0)], "area": float(max(w, 1.0) * max(h, 1.0))})  # fmt: skip
    n = len(preds[0]["keypoints"]) // 3 if preds else 17
    cat = {"id": 1, "name": "person", "keypoints": [f"k{j}" for j in range(n)], "skeleton": []}
    return {"images": images, "annotations": anns, "categories": [cat]}


def drift(a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    d = [float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True)]
    r = [float(np.abs(x).max()) for x in a]
    c = [float(np.corrcoef(x.ravel(), y.ravel())[0, 1]) for x, y in zip(a, b, strict=True)]
    return {"max_abs": max(d), "max_abs_over_range": max(di / ri for di, ri in zip(d, r, strict=True)),
            "min_correlation": min(c)}  # fmt: skip


def measure(name: str, calib: str | Path, calib_count: int, repeats: int) -> dict:
    import torch

    from featherpose.bench import time_callable
    from featherpose.deploy.backends import file_runner
    from featherpose.deploy.export import export_onnx, onnx_to_openvino
    from featherpose.deploy.quantize import export_inputs, quantize_onnx
    from featherpose.evaluation import coco_keypoint_ap
    from featherpose.inference import PoseEstimator

    torch.set_num_threads(2)
    ann = json.loads((COCO / "annotations" / "person_keypoints_val2017.json").read_text())
    images = ann["images"]
    boxes: dict = {}
    for a in ann["annotations"]:
        if a["num_keypoints"] > 0 and not a.get("iscrowd"):
            boxes.setdefault(a["image_id"], []).append(a["bbox"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = PoseEstimator(name, backend="torch", nms="none")
    size = tuple(ref.input_size)
    out: dict = {"model": name, "input_size": list(size)}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(name, Path(tmp) / "fp32.onnx", input_size=size, model=ref.model)
        t0 = time.perf_counter()
        q = quantize_onnx(fp32, Path(tmp) / "int8.onnx", calib, calib_count)
        out["quantise_s"] = time.perf_counter() - t0
        files = {"fp32": fp32, "int8": q, "fp32_xml": onnx_to_openvino(fp32, Path(tmp) / "fp32.xml"),
                 "int8_xml": onnx_to_openvino(q, Path(tmp) / "int8.xml")}  # fmt: skip
        x = export_inputs(name, [COCO / "val2017" / im["file_name"] for im in images[:8]], size, ref.model)
        variants = {
            "onnxruntime fp32": ("fp32", "onnxruntime", "fp32"),
            "onnxruntime int8": ("int8", "onnxruntime", "int8"),
            "openvino fp32": ("fp32_xml", "openvino", "fp32"),
            "openvino bf16": ("fp32_xml", "openvino", "bf16"),
            "openvino int8": ("int8_xml", "openvino", "int8"),
        }
        base = file_runner(fp32, "onnxruntime", "fp32", 2)(x)
        base_preds = predictions(PoseEstimator(str(fp32), backend="onnxruntime", precision="fp32", nms="none"),
                                 images, boxes)  # fmt: skip
        gt = as_ground_truth(base_preds, images)
        out["fp32_poses"] = len(base_preds)
        out["variants"] = {}
        one = x[:1]
        for label, (key, backend, prec) in variants.items():
            runner = file_runner(files[key], backend, prec, 2, dynamic=False)
            t = time_callable(lambda runner=runner: runner(one), warmup=2, repeats=repeats)
            est = PoseEstimator(str(files[key]), backend=backend, precision=prec, nms="none")
            preds = predictions(est, images, boxes)
            ap = coco_keypoint_ap(gt, preds) if gt["annotations"] else {"AP": float("nan")}
            out["variants"][label] = {"ms": t.median_ms, "agreement_AP": ap["AP"], **drift(base, runner(x))}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mobileposenet,ghostpose")
    ap.add_argument("--calib", help="calibration images (default: featherpose's default, else coco-mini train2017)")
    ap.add_argument("--calib-count", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "int8.json")
    args = ap.parse_args()
    if not COCO.exists():
        print(f"{COCO} is absent: nothing to measure", file=sys.stderr)
        return 0
    warnings.simplefilter("ignore")
    from featherpose.deploy.quantize import default_calibration

    calib = args.calib or default_calibration() or COCO / "train2017"
    rows = []
    print("| model | variant | ms (batch 1) | agreement AP | max abs drift | drift / range | min corr |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        r = measure(name, calib, args.calib_count, args.repeats)
        rows.append(r)
        for label, v in r["variants"].items():
            print(f"| {name} | {label} | {v['ms']:.1f} | {v['agreement_AP']:.3f} | {v['max_abs']:.2e} | "
                  f"{v['max_abs_over_range']:.3f} | {v['min_correlation']:.4f} |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
