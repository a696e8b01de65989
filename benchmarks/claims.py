"""Each paper's headline claim tested at the scale this project can afford, one table (docs/claims.md).

Every claim is a pair (or group) of *arms* trained on the same data with the same budget (the same number
of training samples: epochs x images, the same cosine schedule and augmentation) and the same seeds,
then scored on the same held-out images. The budget is samples, not seconds: on the shared machine the
arms run concurrently, so wall-clock per run measures contention more than the network; each run's wall
time and the network's MACs are reported beside its score.

Data (built by ``prepare`` from ../shared and featherpose's own pseudo-labels):

- ``lspet14``: LSPET train (9,000 images, one human-labelled person each, 14 LSP joints) / LSPET val
  (500), images at long side <= 256 (WebP): the top-down claims, scored as OKS AP on ground-truth boxes.
- ``bu17``: the same train images with the COCO-17 pose file the shipped bottom-up model was trained on
  (human joints + OMZ pseudo-labels for the face and the unlabelled people: ``featherpose label
  --merge``, docs/pretrained.md) / LSPET val with its 12 shared human joints under COCO-17 names: the
  bottom-up claims (the OpenPose codec is defined on COCO/OpenPose-18 points), scored on whole images.

Steps::

    python benchmarks/claims.py prepare .claims                       # pack the data (CPU, ~3 min)
    python benchmarks/claims.py run .claims/runs --data .claims --device cuda --jobs 16
    python benchmarks/claims.py report .claims/runs                   # JSON + docs/claims.md
    python benchmarks/claims.py nms                                   # 002's OKS-NMS claim (CPU)

``run`` writes each arm's recipe, ``metrics.jsonl`` and final scores (``OUT/ARM/score.json``) as it goes;
``report`` reads whatever finished.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
RESULTS = REPO / "benchmarks" / "results" / "claims.json"
DOC = REPO / "docs" / "claims.md"
BEGIN, END = "<!-- claims:begin -->", "<!-- claims:end -->"
NMS_BEGIN, NMS_END = "<!-- nms:begin -->", "<!-- nms:end -->"

# -- the experiment ----------------------------------------------------------------------------------

TOP_DOWN = {  # shared by every top-down arm: LSPET-14, 128x96, the shipped model's augmentation
    "data": {"type": "coco", "train_ann": "annotations/lspet14_train.json", "train_images": "images",
             "val_ann": "annotations/lspet14_val.json", "val_images": "images", "workers": 1},
    "input_size": [128, 96],
    "augmentation": {"flip": True, "rotation": 45, "scale": [0.65, 1.35], "half_body_prob": 0.3, "color": True},
    "codec": {"name": "heatmap-dark", "args": {"sigma": 2.0}},
    "loss": {"type": "heatmap", "weighted": False},
    "optimizer": {"type": "adam", "lr": 1.0e-3},
    "batch_size": 64,
}  # fmt: skip
BOTTOM_UP = {  # shared by every bottom-up arm: COCO-17 pose file on LSPET train, 256x256
    "data": {"type": "coco", "train_ann": "annotations/bu17_train.json", "train_images": "images",
             "val_ann": "annotations/bu17_val.json", "val_images": "images", "workers": 2},
    "input_size": [256, 256],
    "augmentation": {"flip": True, "rotation": 30, "scale": [0.7, 1.3], "translate": 30, "color": True},
    "optimizer": {"type": "adam", "lr": 1.0e-3},
    "batch_size": 32,
}  # fmt: skip
OPENPOSE = {"codec": {"name": "openpose", "args": {"paf_width": 1.0}}, "loss": {"type": "openpose"}}
AE = {"codec": {"name": "ae-multires", "args": {"sigma": 2.0}},
      "loss": {"type": "ae", "weighted": False, "tau": 0.01, "heatmap_factor": 1.0, "pull_factor": 1.0e-3,
               "push_factor": 1.0e-3}}  # fmt: skip


@dataclass(frozen=True)
class Arm:
    """One trained configuration of one claim."""

    claim: str
    name: str
    model: str
    paradigm: str  # top-down | bottom-up
    overrides: dict = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)


ARMS = [
    # 004: the heatmap-weighted loss vs plain MSE, on one cheap carrier network
    Arm("004-loss", "mobileposenet, MSE", "mobileposenet", "top-down", seeds=(0, 1)),
    Arm("004-loss", "mobileposenet, weighted loss", "mobileposenet", "top-down",
        {"loss": {"type": "heatmap", "weighted": True, "tau": 0.01}}, seeds=(0, 1)),  # fmt: skip
    # fine-tuning (issue 14): the shipped COCO-17 weights -> LSPET's 14 points vs scratch (= the MSE arm)
    Arm("fine-tune", "mobileposenet, from shipped weights", "mobileposenet", "top-down",
        {"model": {"init": "mobileposenet:lspet"}}, seeds=(0, 1)),  # fmt: skip
    # 002: MobilePoseNet vs a SimpleBaseline at the same budget (accuracy per MAC); MSE arm above
    Arm("002-baseline", "simplebaseline_r50", "simplebaseline_r50", "top-down", seeds=(0,)),
    # 001 / 003: GADNet-W32 and HR-LiteNet vs HRNet-W32
    Arm("001-003", "hrnet_w32", "hrnet_w32", "top-down", seeds=(0,)),
    Arm("001-003", "gadnet_w32", "gadnet_w32", "top-down", seeds=(0,)),
    Arm("001-003", "hr_litenet", "hr_litenet", "top-down", seeds=(0,)),
    # 000: the GhostNet "Pose" vs Lightweight OpenPose
    Arm("000", "lw_openpose", "lw_openpose", "bottom-up", OPENPOSE),
    Arm("000", "ghostpose", "ghostpose", "bottom-up", OPENPOSE),
    # 004: WLitePose-XS (DFC bottlenecks + deconvolution head + weighted loss) vs LitePose-XS
    Arm("004-arch", "litepose_xs", "litepose_xs", "bottom-up", AE),
    Arm("004-arch", "wlitepose_xs, weighted loss", "wlitepose_xs", "bottom-up",
        {**AE, "loss": {**AE["loss"], "weighted": True}}),  # fmt: skip
]
# the arm each claim's others are compared with (first named arm of the claim otherwise)
REFERENCE = {"fine-tune": ("004-loss", "mobileposenet, MSE"), "002-baseline": ("004-loss", "mobileposenet, MSE")}
CLAIMS = {
    "004-loss": "004: the heatmap-weighted loss beats MSE on the same network (paper, Table VI: +1.0 AP alone on "
                "CrowdPose, LitePose-S 448)",
    "fine-tune": "Fine-tuning the shipped weights on a new keypoint set beats training from scratch",
    "002-baseline": "002: MobilePoseNet keeps a SimpleBaseline's accuracy at a fraction of its MACs (paper: 69.0 AP "
                    "on COCO at 384x288 with 1.23 GFLOPs)",
    "001-003": "001 / 003: GADNet-W32 and HR-LiteNet stay close to HRNet-W32 at far fewer MACs",
    "000": "000: the GhostNet 'Pose' keeps Lightweight OpenPose's accuracy with 6.7% fewer parameters and 22.2% "
           "less computation",
    "004-arch": "004: WLitePose beats LitePose (paper: +1.0 AP at 256 and +1.3 at 448 on COCO val, +1.6 at 448 on "
                "CrowdPose test)",
}


def merge(base: dict, extra: dict) -> dict:
    """``base`` updated by ``extra``, recursively for dicts."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def run_id(arm: Arm, seed: int) -> str:
    """A folder name for one run: ``claim__arm__sSEED``."""
    slug = "".join(c if c.isalnum() else "-" for c in arm.name.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"{arm.claim}__{slug}__s{seed}"


def recipe(arm: Arm, seed: int, data_root: Path, epochs: int, val_images: int = 0) -> dict:
    """The training recipe of one run of ``arm``."""
    base = TOP_DOWN if arm.paradigm == "top-down" else BOTTOM_UP
    cfg = merge(base, {"model": {"name": arm.model}})
    cfg = merge(cfg, arm.overrides)
    cfg["data"]["root"] = str(data_root.resolve())
    cfg.update(paper=f"claims: {CLAIMS[arm.claim]}", epochs=epochs, seed=seed, log_interval=20)
    cfg["schedule"] = {"type": "cosine", "warmup_steps": 200, "min_ratio": 0.01}
    cfg["eval"] = {"interval": 10_000, "flip": False, "max_images": val_images}  # once, after the last epoch
    return cfg


# -- prepare -------------------------------------------------------------------------------------------


def _lspet_to_coco17(data: dict, category: dict) -> dict:
    """LSPET-14 annotations under the COCO-17 ``category`` (the 12 shared joints; neck and head top dropped)."""
    names = data["categories"][0]["keypoints"]
    where = [names.index(n) if n in names else -1 for n in category["keypoints"]]
    anns = []
    for a in data["annotations"]:
        src = a["keypoints"]
        kps: list[float] = []
        for j in where:
            kps += [0.0, 0.0, 0] if j < 0 else src[3 * j : 3 * j + 3]
        anns.append({**a, "keypoints": kps, "num_keypoints": sum(1 for v in kps[2::3] if v > 0)})
    return {**data, "annotations": anns, "categories": [category]}


def prepare(out: Path, max_side: int, quality: int, pseudo: Path) -> None:
    """Pack LSPET train + val once (WebP, long side <= ``max_side``) into ``out/images.tar`` and write the
    annotation files of both datasets, scaled with the images, gzipped, into ``out/annotations``."""
    import cv2

    sys.path.insert(0, str(REPO / "scripts"))
    from pack_dataset import scale_annotation  # noqa: PLC0415 - a script beside this one

    lspet = SHARED / "data" / "lspet"
    if not (lspet / "annotations" / "lspet_train.json").is_file():
        raise SystemExit(f"{lspet}: LSPET is absent (../shared/data/lspet)")
    if not pseudo.is_file():
        raise SystemExit(f"{pseudo}: the COCO-17 pose file of LSPET train is absent (docs/pretrained.md: "
                         "`featherpose label ... --merge`)")  # fmt: skip
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    sources = {"train": json.loads((lspet / "annotations" / "lspet_train.json").read_text()),
               "val": json.loads((lspet / "annotations" / "lspet_val.json").read_text())}  # fmt: skip
    factors: dict[str, float] = {}
    with tarfile.open(out / "images.tar", "w") as tar:
        for split, data in sources.items():
            for im in data["images"]:
                pixels = cv2.imread(str(lspet / "images" / im["file_name"]), cv2.IMREAD_COLOR)
                h, w = pixels.shape[:2]
                f = min(1.0, max_side / max(h, w))
                if f < 1.0:
                    pixels = cv2.resize(pixels, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
                name = f"images/{Path(im['file_name']).stem}.webp"
                buf = cv2.imencode(".webp", pixels, [cv2.IMWRITE_WEBP_QUALITY, quality])[1].tobytes()
                info = tarfile.TarInfo(name)
                info.size = len(buf)
                tar.addfile(info, io.BytesIO(buf))
                factors[im["file_name"]] = f
                im.update(source=im["file_name"], file_name=name.removeprefix("images/"),
                          width=pixels.shape[1], height=pixels.shape[0])
            print(f"{split}: {len(data['images'])} images packed", flush=True)

    def scaled(data: dict, by_name: dict[int, float]) -> dict:
        return {**data, "annotations": [scale_annotation(a, by_name[a["image_id"]]) for a in data["annotations"]]}

    def write(data: dict, name: str) -> None:
        with gzip.open(out / "annotations" / f"{name}.json.gz", "wt", encoding="utf-8") as fh:
            json.dump(data, fh)

    bu = json.loads(pseudo.read_text())
    for split, data in sources.items():
        f_by_id = {im["id"]: factors[im["source"]] for im in data["images"]}
        lspet14 = scaled(data, f_by_id)
        write(lspet14, f"lspet14_{split}")
        if split == "val":
            write(_lspet_to_coco17(lspet14, bu["categories"][0]), "bu17_val")
    train_by_name = {Path(im["file_name"]).stem: im for im in sources["train"]["images"]}
    f_by_id = {}
    for im in bu["images"]:
        packed = train_by_name[Path(im["file_name"]).stem]
        f_by_id[im["id"]] = factors[packed["source"]]
        im.update(file_name=packed["file_name"], width=packed["width"], height=packed["height"])
    write(scaled(bu, f_by_id), "bu17_train")
    print(f"-> {out}: images.tar ({(out / 'images.tar').stat().st_size / 1e6:.1f} MB) and annotations", flush=True)


def unpack(data: Path) -> None:
    """Extract ``images.tar`` and gunzip the annotations next to them (idempotent)."""
    if not (data / "images").is_dir():
        with tarfile.open(data / "images.tar") as tar:
            tar.extractall(data, filter="data")
    for gz in (data / "annotations").glob("*.json.gz"):
        dst = gz.with_suffix("")
        if not dst.is_file():
            with gzip.open(gz, "rt", encoding="utf-8") as fh:
                dst.write_text(fh.read())


# -- run -------------------------------------------------------------------------------------------------


def _score(run_dir: Path, cfg_path: Path, device: str) -> dict:
    """The run's final validation metrics: its last ``val`` line, else ``featherpose eval`` on last weights."""
    metrics = run_dir / "metrics.jsonl"
    val, end = None, {}
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "val":
                val = rec
            elif rec.get("type") == "end":
                end = rec
    out: dict = {"step": end.get("step"), "stopped": end.get("stopped"), "train_seconds": end.get("train_seconds"),
                 "precision": end.get("precision")}  # fmt: skip
    if val is None and (run_dir / "last.safetensors").is_file():  # stopped early: score the last weights
        proc = subprocess.run([sys.executable, "-m", "featherpose.cli", "eval", str(cfg_path), "--weights",
                               str(run_dir / "last.safetensors"), "--device", device, "--json"],
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode == 0:
            val = json.loads(proc.stdout.strip().splitlines()[-1])
        else:
            out["eval_error"] = (proc.stderr.strip().splitlines() or ["?"])[-1]
    if val is not None:
        out.update(AP=val.get("AP"), AP50=val.get("AP50"), eval_seconds=val.get("eval_seconds"))
    return out


def run(out: Path, data: Path, device: str, jobs: int, td_epochs: int, bu_epochs: int, only: list[str],
        max_minutes: float | None, max_steps: int | None, val_images: int = 0,
        seeds: list[int] | None = None, workers: int | None = None) -> None:  # fmt: skip
    """Train every arm (x seeds) with at most ``jobs`` at once, scoring each as it finishes."""
    unpack(data)
    out.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[Arm, int, Path, Path]] = []
    for arm in ARMS:
        if only and arm.claim not in only:
            continue
        for seed in seeds or arm.seeds:
            rid = run_id(arm, seed)
            epochs = td_epochs if arm.paradigm == "top-down" else bu_epochs
            cfg_path = out / f"{rid}.yaml"
            cfg = recipe(arm, seed, data, epochs, val_images)
            if workers:
                cfg["data"]["workers"] = workers
            cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
            todo.append((arm, seed, cfg_path, out / rid))
    todo.sort(key=lambda t: t[0].paradigm != "bottom-up")  # the slowest first
    running: list[tuple[subprocess.Popen, Arm, int, Path, Path, float]] = []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while todo or running:
        while todo and len(running) < jobs:
            arm, seed, cfg_path, run_dir = todo.pop(0)
            if (run_dir / "score.json").is_file():
                continue
            cmd = [sys.executable, "-m", "featherpose.cli", "train", str(cfg_path), "--out", str(run_dir),
                   "--device", device, "--no-progress"]  # fmt: skip
            if (run_dir / "state.pt").is_file():
                cmd.append("--resume")
            cmd += ["--max-minutes", str(max_minutes)] if max_minutes else []
            cmd += ["--max-steps", str(max_steps)] if max_steps else []
            log = open(run_dir.with_suffix(".log"), "a")  # noqa: SIM115 - closed with the process
            running.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), arm, seed,
                            cfg_path, run_dir, time.time()))  # fmt: skip
            print(f"start {run_dir.name}", flush=True)
        time.sleep(2)
        for item in list(running):
            proc, arm, seed, cfg_path, run_dir, t0 = item
            if proc.poll() is None:
                continue
            running.remove(item)
            score = _score(run_dir, cfg_path, device)
            score.update(claim=arm.claim, arm=arm.name, model=arm.model, paradigm=arm.paradigm, seed=seed,
                         wall_seconds=round(time.time() - t0, 1), exit=proc.returncode,
                         epochs=yaml.safe_load(cfg_path.read_text())["epochs"])  # fmt: skip
            if run_dir.is_dir():
                (run_dir / "score.json").write_text(json.dumps(score))
            print(f"done {run_dir.name}: {score}", flush=True)


# -- 002's parallel OKS-NMS on real outputs ---------------------------------------------------------------

NMS_SETS = {  # name -> (annotation file, image folder) under ../shared/data
    "coco-mini val2017": ("coco-mini/annotations/person_keypoints_val2017.json", "coco-mini/val2017"),
    "coco-mini train2017": ("coco-mini/annotations/person_keypoints_train2017.json", "coco-mini/train2017"),
    "LSPET val": ("lspet/annotations/lspet_val.json", "lspet/images"),
}
NMS_METHODS = ("none", "oks", "soft", "parallel")  # featherpose's names: no NMS, hard greedy, soft, paper 002


def redundant_boxes(coco: object, image_id: int, rng: object, copies: int = 5) -> list[list[float]]:
    """A detector's redundant output, made from the ground truth: per annotated person its box and
    ``copies - 1`` jittered copies (shift up to 15% of the size, scale 0.8-1.25), scored by IoU with
    the true box x 0.9, plus one false box of the image's size scale; (M, 5) rows x, y, w, h, score."""
    import numpy as np

    img = coco.imgs[image_id]
    out = []
    for a in coco.imgToAnns[image_id]:
        if a.get("num_keypoints", 0) == 0:
            continue
        x, y, w, h = a["bbox"]
        out.append([x, y, w, h, 0.95])
        for _ in range(copies - 1):
            s = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
            dx, dy = rng.uniform(-0.15, 0.15, 2) * (w, h)
            nw, nh = w * s, h * s
            nx, ny = x + w / 2 + dx - nw / 2, y + h / 2 + dy - nh / 2
            ix = max(0.0, min(x + w, nx + nw) - max(x, nx)) * max(0.0, min(y + h, ny + nh) - max(y, ny))
            iou = ix / (w * h + nw * nh - ix)
            out.append([nx, ny, nw, nh, round(0.9 * iou, 4)])
    fw, fh = img["width"] * rng.uniform(0.1, 0.3), img["height"] * rng.uniform(0.2, 0.5)
    out.append([rng.uniform(0, img["width"] - fw), rng.uniform(0, img["height"] - fh), fw, fh, 0.3])
    return out


def _nms_ground_truth(name: str, ann_path: Path, max_images: int) -> object:
    """The set's pycocotools ground truth under COCO-17 (LSPET: its 12 shared joints), first images only."""
    from featherpose.evaluation import load_coco

    data = json.loads(ann_path.read_text())
    if name.startswith("LSPET"):
        coco17 = json.loads((SHARED / "data" / NMS_SETS["coco-mini val2017"][0]).read_text())["categories"][0]
        data = _lspet_to_coco17(data, coco17)
    keep = {im["id"] for im in data["images"][:max_images]} if max_images else None
    if keep is not None:
        data = {**data, "images": [im for im in data["images"] if im["id"] in keep],
                "annotations": [a for a in data["annotations"] if a["image_id"] in keep]}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gt.json"
        path.write_text(json.dumps(data))
        return load_coco(path)


def nms_claim(repeats: int = 5, max_images: int = 200) -> dict:
    """The shipped top-down network run on two box sources per image with its decoded candidates
    recorded: the shipped detector's boxes (the default pipeline) and a detector's redundant boxes made
    from the ground truth (:func:`redundant_boxes`: several candidates per person, as a person detector
    at a low threshold gives). Each NMS method then filters the same candidates through the product's
    own :class:`PoseFilter`: pycocotools AP of what it keeps and its median time per image (methods
    interleaved, ``repeats`` times)."""
    import dataclasses

    import numpy as np

    from featherpose.evaluation import coco_keypoint_ap
    from featherpose.inference import PoseEstimator
    from featherpose.inference.pose_filter import NmsOptions
    from featherpose.io import open_image

    est = PoseEstimator("mobileposenet", nms="none")
    out: dict = {"network": "mobileposenet-lspet (shipped), no flip", "methods": list(NMS_METHODS), "sets": {}}
    rng = np.random.default_rng(0)
    for name, (ann, images) in NMS_SETS.items():
        ann_path, folder = SHARED / "data" / ann, SHARED / "data" / images
        if not ann_path.is_file():
            print(f"skip {name}: {ann_path} is absent")
            continue
        coco = _nms_ground_truth(name, ann_path, max_images)
        base = est.pose_filter
        for source in ("shipped detector", "redundant boxes"):
            calls: list[tuple[int, tuple]] = []
            for img in coco.dataset["images"]:
                recorded: list[tuple] = []

                def record(*args: object, _r: list = recorded, _f: object = base) -> list:
                    _r.append(args)
                    return _f.topdown(*args)

                est.pose_filter = _Recorder(base, record)
                boxes = redundant_boxes(coco, img["id"], rng) if source == "redundant boxes" else None
                est(open_image(folder / img["file_name"]), boxes)
                calls += [(img["id"], a) for a in recorded]
            est.pose_filter = base
            times: dict[str, list[float]] = {m: [] for m in NMS_METHODS}
            results: dict[str, list[dict]] = {}
            for rep in range(repeats):
                for m in NMS_METHODS:
                    filt = dataclasses.replace(base, nms=NmsOptions(m))
                    t0 = time.perf_counter()
                    kept = [(image_id, filt.topdown(*a)) for image_id, a in calls]
                    times[m].append((time.perf_counter() - t0) / max(1, len(calls)))
                    if rep == 0:
                        results[m] = [p.to_coco(image_id) for image_id, poses in kept for p in poses]
            rows = {}
            for m in NMS_METHODS:
                ap = coco_keypoint_ap(coco, results[m]) if results[m] else {"AP": 0.0, "AP50": 0.0}
                ms = round(1e3 * statistics.median(times[m]), 3)
                rows[m] = {"AP": round(ap["AP"], 4), "AP50": round(ap.get("AP50", 0.0), 4),
                           "poses": len(results[m]), "ms_per_image": ms}  # fmt: skip
            key = f"{name} / {source}"
            out["sets"][key] = {"images": len(calls),
                                "candidates_per_image": round(float(np.mean([len(a[2]) for _, a in calls])), 2),
                                "methods": rows}  # fmt: skip
            print(key, json.dumps(out["sets"][key]), flush=True)
    return out


def nms_markdown(result: dict) -> str:
    """The NMS table."""
    lines = [f"Network: {result['network']}. AP by pycocotools (LSPET: its 12 joints shared with COCO-17); time: "
             "median per image of the NMS step (pose score included), methods interleaved.", "",
             "| images / boxes | candidates per image | " + " | ".join(f"{m}: AP / ms" for m in result["methods"])
             + " |", "|---|---|" + "---|" * len(result["methods"])]  # fmt: skip
    for key, r in result["sets"].items():
        cells = [f"{r['methods'][m]['AP']:.3f} / {r['methods'][m]['ms_per_image']:.3f}" for m in result["methods"]]
        lines.append(f"| {key} ({r['images']}) | {r['candidates_per_image']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


class _Recorder:
    """Stands in for a PoseFilter: ``topdown`` goes to ``fn``, everything else to the real one."""

    def __init__(self, real: object, fn: object) -> None:
        self._real, self.topdown = real, fn

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


# -- report ----------------------------------------------------------------------------------------------


def _complexity(model: str, paradigm: str) -> dict:
    """Params (M) and GMACs of ``model`` at the claims' input size."""
    from featherpose.complexity import complexity
    from featherpose.models import build_model

    size = TOP_DOWN["input_size"] if paradigm == "top-down" else BOTTOM_UP["input_size"]
    net = build_model(model, num_keypoints=14) if paradigm == "top-down" else build_model(model)
    c = complexity(net, tuple(size))
    return {"params_M": round(c.params / 1e6, 2), "GMACs": round(c.macs / 1e9, 3)}


def collect(dirs: list[Path]) -> list[dict]:
    """Every run's score.json under ``dirs``."""
    return [json.loads(p.read_text()) for d in dirs for p in sorted(d.glob("*/score.json"))]


def summarise(scores: list[dict]) -> list[dict]:
    """One row per arm: mean and spread of AP over its seeds, budget, wall time, complexity."""
    rows = []
    for arm in ARMS:
        runs = [s for s in scores if s["claim"] == arm.claim and s["arm"] == arm.name and s.get("AP") is not None]
        if not runs:
            continue
        aps = [r["AP"] for r in runs]
        row = {"claim": arm.claim, "arm": arm.name, "model": arm.model, "paradigm": arm.paradigm,
               "seeds": [r["seed"] for r in runs], "AP": aps, "AP_mean": round(statistics.fmean(aps), 4),
               "AP_spread": round(max(aps) - min(aps), 4) if len(aps) > 1 else None,
               "epochs": runs[0]["epochs"], "steps": [r.get("step") for r in runs],
               "stopped": sorted({r.get("stopped") or "?" for r in runs}),
               "wall_minutes": round(statistics.fmean(r["wall_seconds"] for r in runs) / 60, 1)}  # fmt: skip
        try:
            row.update(_complexity(arm.model, arm.paradigm))
        except Exception as exc:  # noqa: BLE001 - a report without complexity is still a report
            row["complexity_error"] = str(exc).splitlines()[0]
        rows.append(row)
    for row in rows:
        ref = REFERENCE.get(row["claim"])
        base = next((r for r in rows if (r["claim"], r["arm"]) == ref), None) if ref else \
            next(r for r in rows if r["claim"] == row["claim"])  # fmt: skip
        if base is not None and base is not row:
            row["vs"] = base["arm"]
            row["delta_AP"] = round(row["AP_mean"] - base["AP_mean"], 4)
    return rows


def markdown(rows: list[dict], meta: dict) -> str:
    """The claims table."""
    lines = [f"Budget: {meta.get('budget', '?')}. Hardware: {meta.get('hardware', '?')}. Generated by "
             "`benchmarks/claims.py report` from `benchmarks/results/claims.json`.", "",
             "| claim | arm | params (M) | GMACs | seeds | AP (mean) | spread | vs | ΔAP | steps | wall (min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        spread = "—" if r["AP_spread"] is None else f"{r['AP_spread']:.3f}"
        delta = f"{r['delta_AP']:+.3f}" if "delta_AP" in r else ""
        steps = "/".join(str(x) for x in sorted(set(r["steps"])))
        steps += "" if r.get("stopped") == ["finished"] else " (cut by the time cap)"
        lines.append(f"| {r['claim']} | {r['arm']} | {r.get('params_M', '?')} | {r.get('GMACs', '?')} | "
                     f"{len(r['seeds'])} | {r['AP_mean']:.3f} | {spread} | {r.get('vs', '')} | {delta} | "
                     f"{steps} | {r['wall_minutes']} |")  # fmt: skip
    return "\n".join(lines)


def write_doc(table: str, begin: str = BEGIN, end: str = END) -> None:
    """Put ``table`` between the ``begin`` / ``end`` markers of docs/claims.md (appended if absent)."""
    text = DOC.read_text() if DOC.is_file() else "# Claims\n"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    DOC.write_text(f"{head}{begin}\n{table}\n{end}{rest.split(end, 1)[1]}")


def report(dirs: list[Path], budget: str, hardware: str) -> None:
    """claims.json + the table in docs/claims.md, from the runs under ``dirs``."""
    scores = collect(dirs)
    rows = summarise(scores)
    old = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    meta = {"budget": budget, "hardware": hardware}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**old, "training": {"meta": meta, "runs": scores, "rows": rows}}, indent=1))
    table = markdown(rows, meta)
    print(table)
    write_doc(table)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="pack LSPET and the pose files")
    p.add_argument("out", type=Path)
    p.add_argument("--max-side", type=int, default=256)
    p.add_argument("--quality", type=int, default=60)
    p.add_argument("--pseudo", type=Path, default=REPO / "runs" / "label" / "lspet_train_bottomup.json")
    p = sub.add_parser("run", help="train every arm")
    p.add_argument("out", type=Path)
    p.add_argument("--data", type=Path, required=True, help="the folder `prepare` wrote")
    p.add_argument("--device", default="cuda")
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--td-epochs", type=int, default=6)
    p.add_argument("--bu-epochs", type=int, default=4)
    p.add_argument("--only", nargs="*", default=[], help="claims to run (default all)")
    p.add_argument("--max-minutes", type=float, help="safety stop per run")
    p.add_argument("--max-steps", type=int, help="smoke tests: stop every run after N steps")
    p.add_argument("--val-images", type=int, default=0, help="smoke tests: score only N val images (0: all)")
    p.add_argument("--seeds", type=int, nargs="*", help="these seeds instead of each arm's (more seeds later)")
    p.add_argument("--workers", type=int, help="data-loading processes per run (default: 1 top-down, 2 bottom-up)")
    sub.add_parser("nms", help="002's parallel OKS-NMS vs hard vs soft on the shipped pipeline's outputs (CPU)")
    p = sub.add_parser("report", help="JSON + docs/claims.md from finished runs")
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--budget", default="")
    p.add_argument("--hardware", default="")
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare(args.out, args.max_side, args.quality, args.pseudo)
    elif args.cmd == "run":
        run(args.out, args.data, args.device, args.jobs, args.td_epochs, args.bu_epochs, args.only,
            args.max_minutes, args.max_steps, args.val_images, args.seeds, args.workers)  # fmt: skip
    elif args.cmd == "nms":
        result = nms_claim()
        old = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        RESULTS.write_text(json.dumps({**old, "nms": result}, indent=1))
        print(nms_markdown(result))
        write_doc(nms_markdown(result), NMS_BEGIN, NMS_END)
    else:
        report(args.dirs, args.budget, args.hardware)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
