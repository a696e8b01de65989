"""The peers in one run: Intel's OMZ OpenPose IR decoded reference-style vs by featherpose, MoveNet
Lightning int8, and featherpose's own OpenPose network on the same machine.

.venv/bin/python benchmarks/peers.py [--height 368] [--splits val2017,train2017] [--out benchmarks/results/peers.json]

1. OMZ human-pose-estimation-0001 on every coco-mini image: input of height H (368), width following
   the image's aspect ratio, centred padding to the stride (the reference's ``pad_width``), one
   network call per image; the *same* maps are decoded by (a) reference-style post-processing
   (``benchmarks/reference_openpose.py``) and (b) featherpose's ``OpenPoseCodec``; AP by pycocotools,
   decode time per image. (c) The whole ``PoseEstimator("...xml", input_size=H)`` path (fp32 and bf16).
2. MoveNet SinglePose Lightning int8: latency per 192x192 crop (ai-edge-litert), if installed.
3. Network latency at H x H of the OMZ IR vs featherpose ``lw_openpose`` (same architecture, random
   weights) on every backend.
4. Precision on trained weights: the OMZ IR with its activation FakeQuantize nodes removed is a float
   network (weights on the int8 grid); its AP and latency in fp32 and bf16 next to the INT8 original.
Skips cleanly (exit 0, a message) when ``../shared`` is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_openpose  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
OMZ = SHARED / "peers" / "omz-human-pose-estimation-0001" / "human-pose-estimation-0001.xml"
MOVENET = SHARED / "peers" / "movenet-lightning-int8" / "lite-model_movenet_singlepose_lightning_tflite_int8_4.tflite"
COCO = SHARED / "data" / "coco-mini"


def reference_input(image: np.ndarray, height: int, stride: int = 8) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Reference preprocessing: scale to ``height``, pad (centred, value 128 = 0 after normalising) to
    the stride with a width of at least ``height``. Returns (1, 3, H, W) float32 BGR 0-255, scale, (top, left)."""
    scale = height / image.shape[0]
    img = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    h, w = img.shape[:2]
    ph = -(-max(h, height) // stride) * stride
    pw = -(-max(w, height) // stride) * stride
    top, left = (ph - h) // 2, (pw - w) // 2
    out = np.full((ph, pw, 3), 128, np.uint8)
    out[top : top + h, left : left + w] = img
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None].astype(np.float32)), scale, (top, left)


def split_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """OMZ outputs -> (heatmaps (19, h, w), reference-layout PAFs (38, h, w))."""
    hm = next(o for o in outputs if o.shape[1] == 19)
    pf = next(o for o in outputs if o.shape[1] == 38)
    return hm[0], pf[0]


def decode_reference(hm: np.ndarray, pf: np.ndarray, scale: float, pad: tuple[int, int]) -> list[tuple]:
    out = []
    for kps, score in reference_openpose.decode(hm, pf):
        found = kps[:, 2] > 0
        kps[found, 0] = (kps[found, 0] - pad[1]) / scale
        kps[found, 1] = (kps[found, 1] - pad[0]) / scale
        out.append((kps, score))
    return out


def decode_featherpose(hm: np.ndarray, pf: np.ndarray, scale: float, pad: tuple[int, int], size: tuple) -> list:
    from featherpose.codecs import OpenPoseCodec
    from featherpose.skeletons import openpose_to_coco

    codec = OpenPoseCodec(input_size=size)
    mpp = codec.decode(hm[None], pf[None])[0]
    out = []
    for i in range(len(mpp.scores)):
        kps = np.concatenate([mpp.keypoints[i], mpp.keypoint_scores[i][:, None]], -1)
        found = kps[:, 2] > 0
        kps[found, 0] = (kps[found, 0] + 0.5 - pad[1]) / scale - 0.5
        kps[found, 1] = (kps[found, 1] + 0.5 - pad[0]) / scale - 0.5
        out.append((openpose_to_coco(kps), float(mpp.scores[i])))
    return out


def to_results(image_id: int, poses: list[tuple]) -> list[dict]:
    return [{"image_id": image_id, "category_id": 1, "score": float(s),
             "keypoints": [float(v) for v in np.asarray(k, np.float64).reshape(-1)]} for k, s in poses]  # fmt: skip


def omz_decoders(split: str, height: int, precision: str = "fp32") -> dict:
    """Section 1 (a, b) on one split."""
    from featherpose.deploy.backends import OpenVINORunner
    from featherpose.evaluation import coco_keypoint_ap

    ann = COCO / "annotations" / f"person_keypoints_{split}.json"
    images = json.loads(ann.read_text())["images"]
    runner = OpenVINORunner(OMZ, threads=2, precision=precision)
    res = {"reference": [], "featherpose": []}
    times = {"reference": [], "featherpose": [], "network": []}
    for im in images:
        img = cv2.imread(str(COCO / split / im["file_name"]))
        x, scale, pad = reference_input(img, height)
        runner(x)  # compile / warm this shape up outside the timing
        t0 = time.perf_counter()
        hm, pf = split_outputs(runner(x))
        times["network"].append(time.perf_counter() - t0)
        for name in ("reference", "featherpose"):
            t0 = time.perf_counter()
            if name == "reference":
                poses = decode_reference(hm, pf, scale, pad)
            else:
                poses = decode_featherpose(hm, pf, scale, pad, x.shape[2:])
            times[name].append(time.perf_counter() - t0)
            res[name] += to_results(im["id"], poses)
    out = {"split": split, "images": len(images), "height": height, "precision": precision,
           "network_ms": 1e3 * float(np.mean(times["network"]))}  # fmt: skip
    for name in ("reference", "featherpose"):
        ap = coco_keypoint_ap(ann, res[name])
        out[name] = {"AP": ap["AP"], "AP50": ap["AP50"], "AR": ap["AR"], "poses": len(res[name]),
                     "decode_ms": 1e3 * float(np.mean(times[name])),
                     "decode_ms_median": 1e3 * float(np.median(times[name]))}  # fmt: skip
    return out


def omz_estimator(split: str, height: int, precision: str) -> dict:
    """Section 1 (c): the PoseEstimator path on the IR file."""
    from featherpose.evaluation import coco_keypoint_ap
    from featherpose.inference import PoseEstimator

    ann = COCO / "annotations" / f"person_keypoints_{split}.json"
    images = json.loads(ann.read_text())["images"]
    est = PoseEstimator(str(OMZ), backend="openvino", precision=precision, input_size=height)
    est(str(COCO / split / images[0]["file_name"]))  # compile
    est.timer.reset()
    results = []
    t0 = time.perf_counter()
    for im in images:
        poses = est(str(COCO / split / im["file_name"]))
        results += [p.to_coco(im["id"]) for p in poses]
    wall = (time.perf_counter() - t0) / len(images)
    ap = coco_keypoint_ap(ann, results)
    return {"split": split, "precision": precision, "AP": ap["AP"], "AP50": ap["AP50"], "AR": ap["AR"],
            "ms_per_image": 1e3 * wall, "stages_ms": est.timer.per_image_ms()}  # fmt: skip


def float_omz(out_xml: Path) -> Path:
    """The OMZ IR with its activation FakeQuantize nodes removed: a float network (weights still on
    the int8 grid) that lets fp32 / bf16 / int8 be compared on *trained* weights."""
    import openvino as ov

    model = ov.Core().read_model(str(OMZ))
    for op in model.get_ops():
        if op.get_type_name() != "FakeQuantize":
            continue
        if op.input_value(0).get_node().get_type_name() in ("Constant", "Convert"):
            continue  # weight quantisation stays (it folds into float weights)
        for target in list(op.output(0).get_target_inputs()):
            target.replace_source_output(op.input_value(0))
    model.validate_nodes_and_infer_types()
    ov.save_model(model, str(out_xml), compress_to_fp16=False)
    return out_xml


def precision_study(splits: list[str], height: int, repeats: int) -> list[dict]:
    """Section 4: AP and network latency of the trained OpenPose network as float (fp32, bf16) and as
    Intel's INT8, through the PoseEstimator."""
    import tempfile

    from featherpose.bench import time_callable
    from featherpose.deploy.backends import OpenVINORunner, native_bf16
    from featherpose.evaluation import coco_keypoint_ap
    from featherpose.inference import PoseEstimator

    rows = []
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, height, height)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        fxml = float_omz(Path(tmp) / "omz_float.xml")
        variants = [("float (activation FQ removed)", fxml, "fp32"), ("OMZ INT8", OMZ, "fp32")]
        if native_bf16():
            variants.insert(1, ("float (activation FQ removed)", fxml, "bf16"))
            variants.append(("OMZ INT8", OMZ, "bf16"))
        for label, path, prec in variants:
            r = OpenVINORunner(path, threads=2, precision=prec, dynamic=False)
            t = time_callable(lambda r=r: r(x), warmup=2, repeats=repeats)
            row = {"network": label, "precision": prec, "ms": t.median_ms, "ms_min": t.min_ms}
            for split in splits:
                ann = COCO / "annotations" / f"person_keypoints_{split}.json"
                est = PoseEstimator(str(path), backend="openvino", precision=prec, input_size=height)
                res = []
                for im in json.loads(ann.read_text())["images"]:
                    res += [p.to_coco(im["id"]) for p in est(str(COCO / split / im["file_name"]))]
                row[f"AP_{split}"] = coco_keypoint_ap(ann, res)["AP"]
            rows.append(row)
    return rows


def movenet(repeats: int = 50) -> dict:
    """Section 2: MoveNet Lightning int8 latency per crop on 2 threads."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return {"error": "ai-edge-litert is not installed (pip install 'featherpose[peers]')"}
    it = Interpreter(model_path=str(MOVENET), num_threads=2)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    img = cv2.imread(str(next((COCO / "val2017").glob("*.jpg"))))
    crop = cv2.resize(img, (192, 192))[None, :, :, ::-1].astype(np.uint8)  # RGB uint8
    times = []
    for i in range(repeats + 3):
        t0 = time.perf_counter()
        it.set_tensor(inp["index"], crop)
        it.invoke()
        it.get_tensor(it.get_output_details()[0]["index"])
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return {"ms_per_crop": 1e3 * float(np.median(times)), "ms_min": 1e3 * float(np.min(times)), "input": "192x192"}


def network_latency(height: int, repeats: int = 10) -> list[dict]:
    """Section 3: OMZ IR vs featherpose lw_openpose, network only, H x H, batch 1, 2 threads."""
    import torch

    from featherpose.bench import time_callable
    from featherpose.deploy.backends import OpenVINORunner, native_bf16
    from featherpose.inference import RUNNERS
    from featherpose.models import build_model

    torch.set_num_threads(2)
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, height, height)).astype(np.float32)
    rows = []
    precs = ["fp32", "bf16"] if native_bf16() else ["fp32"]
    for p in precs:
        r = OpenVINORunner(OMZ, threads=2, precision=p, dynamic=False)
        t = time_callable(lambda r=r: r(x), warmup=2, repeats=repeats)
        rows.append({"model": "OMZ human-pose-estimation-0001 (INT8 IR)", "backend": "openvino", "precision": p,
                     "ms": t.median_ms, "ms_min": t.min_ms})  # fmt: skip
    net = build_model("lw_openpose").eval()
    for backend in ("torch", "onnxruntime", "openvino"):
        for p in precs if backend == "openvino" else ["fp32"]:
            r = RUNNERS[backend](net, input_size=(height, height), precision=p, threads=2, name="lw_openpose")
            t = time_callable(lambda r=r: r(x / 256.0 - 0.5), warmup=2, repeats=repeats)
            rows.append({"model": "featherpose lw_openpose (random weights)", "backend": backend, "precision": p,
                         "ms": t.median_ms, "ms_min": t.min_ms})  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=368)
    ap.add_argument("--splits", default="val2017,train2017")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "peers.json")
    args = ap.parse_args()
    if not OMZ.exists() or not COCO.exists():
        print(f"{SHARED} (peers, coco-mini) is absent: nothing to compare", file=sys.stderr)
        return 0
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(2)
    out: dict = {"decoders": [], "estimator": [], "movenet": None, "latency": []}
    print(f"## OMZ human-pose-estimation-0001, height {args.height}: same maps, two decoders")
    print("| split | decoder | AP | AP50 | AR | poses | decode ms/img (mean) | median |")
    print("|---|---|---|---|---|---|---|---|")
    for split in args.splits.split(","):
        r = omz_decoders(split, args.height)
        out["decoders"].append(r)
        for name in ("reference", "featherpose"):
            d = r[name]
            print(f"| {split} | {name} | {d['AP']:.3f} | {d['AP50']:.3f} | {d['AR']:.3f} | {d['poses']} | "
                  f"{d['decode_ms']:.2f} | {d['decode_ms_median']:.2f} |")  # fmt: skip
        print(f"(network {r['network_ms']:.1f} ms/img)")
    print("\n## PoseEstimator('human-pose-estimation-0001.xml', input_size=H)")
    print("| split | precision | AP | AP50 | AR | ms/img | pre | net | post |")
    print("|---|---|---|---|---|---|---|---|---|")
    for split in args.splits.split(","):
        for p in ("fp32", "bf16"):
            r = omz_estimator(split, args.height, p)
            out["estimator"].append(r)
            s = r["stages_ms"]
            print(f"| {split} | {p} | {r['AP']:.3f} | {r['AP50']:.3f} | {r['AR']:.3f} | {r['ms_per_image']:.1f} | "
                  f"{s['pre']:.1f} | {s['net']:.1f} | {s['post']:.1f} |")  # fmt: skip
    splits = args.splits.split(",")
    out["precision"] = precision_study(splits, args.height, args.repeats)
    print(f"\n## trained OpenPose network: float vs INT8, {args.height}x{args.height} latency, 2 threads")
    print("| network | precision | " + " | ".join(f"AP {s}" for s in splits) + " | ms (median) | ms (min) |")
    print("|---|---|" + "---|" * len(splits) + "---|---|")
    for r in out["precision"]:
        aps = " | ".join(f"{r[f'AP_{s}']:.3f}" for s in splits)
        print(f"| {r['network']} | {r['precision']} | {aps} | {r['ms']:.1f} | {r['ms_min']:.1f} |")
    out["movenet"] = movenet()
    print(f"\n## MoveNet Lightning int8: {out['movenet']}")
    if not args.skip_latency:
        out["latency"] = network_latency(args.height, args.repeats)
        print(f"\n## network latency {args.height}x{args.height}, batch 1, 2 threads")
        print("| model | backend | precision | ms (median) | ms (min) |\n|---|---|---|---|---|")
        for r in out["latency"]:
            print(f"| {r['model']} | {r['backend']} | {r['precision']} | {r['ms']:.1f} | {r['ms_min']:.1f} |")
    import os

    out["load_avg_1min"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
