"""PAF grouping variants of the OpenPose codec on crowded real annotations: OKS AP and decode time.

.venv/bin/python benchmarks/paf_grouping.py [--sources perfect omz] [--lspet 500] [--out FILE.json]

Sets (all converted to COCO-17 by keypoint name; CrowdPose / LSPET have no face points, their head
and neck are dropped, the body joints keep the same OKS sigmas as COCO):

* ``crowdpose``: the two CrowdPose fixture images (mmpose test fixtures), area = 0.53 x box area;
* ``coco-crowd``: coco-mini val2017 + train2017 images with 3 or more annotated persons;
* ``coco-all``: every coco-mini image with a keypointed person (both splits);
* ``lspet``: LSPET val (one annotated person per image), the non-crowded control.

Map sources: ``perfect`` = the codec round trip (ground truth encoded at height 368, width following
the image, stride 8, then decoded) through :class:`PoseEstimator` with its network replaced by the
codec (:func:`featherpose.inference.targets.codec_estimator`); ``omz`` = Intel's OMZ
human-pose-estimation-0001 IR (OpenVINO, 1 thread, height 368), its maps computed once per image and
decoded by every variant. Decode time: :meth:`OpenPoseCodec.decode` alone per image (best of
``REPEATS``), median over the images, 1 thread; ratio to ``greedy`` (the default before issue 13).
Prints a table (the one in docs/codecs.md), writes ``benchmarks/results/paf_grouping.json``.
Skips cleanly (exit 0) without ``../shared``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from featherpose.codecs.openpose import OpenPoseCodec  # noqa: E402
from featherpose.data.coco import CocoKeypoints  # noqa: E402
from featherpose.evaluation import coco_keypoint_ap  # noqa: E402
from featherpose.inference.split import predict_split  # noqa: E402
from featherpose.skeletons import COCO17  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OMZ = REPO.parent / "shared" / "peers" / "omz-human-pose-estimation-0001" / "human-pose-estimation-0001.xml"
HEIGHT = 368
CROWD_MIN = 3  # persons with keypoints per image for coco-crowd
CROWDPOSE_AREA_FACTOR = 0.53  # CrowdPose has no areas: mmpose's estimate, 0.53 x box area
DEFAULT = OpenPoseCodec().matching
REPEATS = 5  # decode time per image: the fastest of this many runs (the shared CPU is noisy)
# label -> codec arguments; "greedy" is the default before issue 13, "global" the default now
VARIANTS = {
    "greedy": {"matching": "greedy"},
    "hungarian": {"matching": "hungarian"},
    "global": {"matching": "global"},
    "global-1tier": {"matching": "global", "relink_fraction": 1.0},
}


def to_coco17(gt: dict, area_factor: float | None = None) -> dict:
    """A COCO-format dict of another keypoint set -> COCO-17 by keypoint name (absent names: 0)."""
    names = gt["categories"][0]["keypoints"]
    anns = []
    for a in gt["annotations"]:
        src = np.asarray(a["keypoints"], np.float64).reshape(len(names), 3)
        out = np.zeros((17, 3))
        for j, name in enumerate(COCO17.keypoints):
            if name in names:
                out[j] = src[names.index(name)]
        area = a.get("area") or area_factor * a["bbox"][2] * a["bbox"][3]
        anns.append({**a, "keypoints": out.reshape(-1).tolist(), "num_keypoints": int((out[:, 2] > 0).sum()),
                     "area": float(area), "iscrowd": a.get("iscrowd", 0), "category_id": 1})  # fmt: skip
    return {"images": gt["images"], "annotations": anns, "categories": [COCO17.to_coco_category(1)]}


def subset(gt: dict, image_ids: set[int], prefix: str = "") -> dict:
    """The images of ``image_ids`` and their annotations; ``prefix`` is prepended to file names."""
    images = [{**im, "file_name": prefix + im["file_name"]} for im in gt["images"] if im["id"] in image_ids]
    return {**gt, "images": images, "annotations": [a for a in gt["annotations"] if a["image_id"] in image_ids]}


def build_sets(lspet_limit: int) -> dict[str, tuple[dict, Path]]:
    """name -> (COCO-17 annotation dict, images folder)."""
    sets: dict[str, tuple[dict, Path]] = {}
    cp = DATA / "mmpose-fixtures" / "crowdpose"
    gt = json.loads((cp / "test_crowdpose.json").read_text())
    sets["crowdpose"] = (to_coco17(gt, CROWDPOSE_AREA_FACTOR), cp)
    mini = DATA / "coco-mini"
    crowd, every = None, None
    for split in ("val2017", "train2017"):
        gt = json.loads((mini / "annotations" / f"person_keypoints_{split}.json").read_text())
        counts: dict[int, int] = {}
        for a in gt["annotations"]:
            if a["num_keypoints"] > 0:
                counts[a["image_id"]] = counts.get(a["image_id"], 0) + 1
        c = subset(gt, {i for i, n in counts.items() if n >= CROWD_MIN}, f"{split}/")
        e = subset(gt, set(counts), f"{split}/")
        crowd = c if crowd is None else {**crowd, "images": crowd["images"] + c["images"],
                                         "annotations": crowd["annotations"] + c["annotations"]}  # fmt: skip
        every = e if every is None else {**every, "images": every["images"] + e["images"],
                                         "annotations": every["annotations"] + e["annotations"]}  # fmt: skip
    sets["coco-crowd"] = (crowd, mini)
    sets["coco-all"] = (every, mini)
    lsp = DATA / "lspet"
    gt = json.loads((lsp / "annotations" / "lspet_val.json").read_text())
    if lspet_limit:
        gt = subset(gt, {im["id"] for im in gt["images"][:lspet_limit]})
    sets["lspet"] = (to_coco17(gt), lsp / "images")
    return sets


class TimedDecode:
    """The codec with its ``decode`` timed per call (one image per call here)."""

    def __init__(self, codec: OpenPoseCodec) -> None:
        self.codec, self.times = codec, []

    def __getattr__(self, name: str) -> object:
        return getattr(self.codec, name)

    def decode(self, *args: object, **kw: object) -> object:
        best = float("inf")
        for _ in range(REPEATS):  # decoding is a pure function of the maps
            t = time.perf_counter()
            out = self.codec.decode(*args, **kw)
            best = min(best, time.perf_counter() - t)
        self.times.append(best)
        return out


class CachedRunner:
    """A runner that computes each distinct input batch once (the OMZ maps, shared by the variants)."""

    def __init__(self, runner: object) -> None:
        self.runner, self.cache = runner, {}

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        key = hashlib.sha1(np.ascontiguousarray(batch).tobytes()).hexdigest() + str(batch.shape)
        if key not in self.cache:
            self.cache[key] = self.runner(batch)
        return self.cache[key]


def perfect_estimator(codec: OpenPoseCodec) -> object:
    from featherpose.inference.targets import codec_estimator

    return codec_estimator(codec, COCO17, test_scale="height")


def omz_estimator() -> object:
    from featherpose.inference import PoseEstimator

    est = PoseEstimator(str(OMZ), backend="openvino", input_size=HEIGHT)
    inner = getattr(est.runner, "runner", est.runner)
    if isinstance(getattr(inner, "config", None), dict):
        inner.config["INFERENCE_NUM_THREADS"] = 1
    est.predictor.runner = CachedRunner(est.predictor.runner)
    return est


def score(est: object, gt: dict, folder: Path, tmp: Path) -> tuple[dict, list[float]]:
    """Run ``est`` (its codec timed) over ``gt``'s images one at a time -> (COCO metrics, decode seconds)."""
    path = tmp / "gt.json"
    path.write_text(json.dumps(gt))
    data = CocoKeypoints(path)
    records = [r for r in data.images if r.persons]
    timed = TimedDecode(est.codec)  # type: ignore[attr-defined]
    est.codec = timed  # type: ignore[attr-defined]
    try:
        results, _ = predict_split(est, records, folder, chunk=1)
    finally:
        est.codec = timed.codec  # type: ignore[attr-defined]
    return coco_keypoint_ap(gt, results), timed.times


def markdown(rows: list[dict]) -> str:
    """One line per (source, grouping): AP per set, then median decode ms and ratio to greedy per set."""
    sets = list(dict.fromkeys(r["set"] for r in rows))
    head = "| maps | grouping | " + " | ".join(f"{s} AP" for s in sets) + " | decode ms (x greedy) " + " / ".join(sets)
    lines = [head + " |", "|" + "---|" * (len(sets) + 3)]
    for source in dict.fromkeys(r["source"] for r in rows):
        for grouping in dict.fromkeys(r["grouping"] for r in rows):
            sel = {r["set"]: r for r in rows if r["source"] == source and r["grouping"] == grouping}
            aps = " | ".join(f"{sel[s]['AP']:.3f}" if s in sel else "" for s in sets)
            ms = " / ".join(f"{sel[s]['decode_ms_median']:.2f} ({sel[s].get('time_ratio_vs_greedy', 1.0):.2f})"
                            for s in sets if s in sel)  # fmt: skip
            lines.append(f"| {source} | {grouping} | {aps} | {ms} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", nargs="+", default=["perfect", "omz"], choices=["perfect", "omz"])
    ap.add_argument("--groupings", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--sets", nargs="+", default=None, help="subset of crowdpose coco-crowd coco-all lspet")
    ap.add_argument("--lspet", type=int, default=500, help="LSPET val images (0: all 500)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "paf_grouping.json")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"{DATA} is absent: nothing to measure", file=sys.stderr)
        return 0
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    sets = build_sets(args.lspet)
    if args.sets:
        sets = {k: v for k, v in sets.items() if k in args.sets}
    rows = []
    print(f"{'source':8s} {'set':11s} {'grouping':12s} {'imgs':>5s} {'pers':>5s} {'AP':>6s} {'AP50':>6s} "
          f"{'AR':>6s} {'ms med':>7s}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for source in args.sources:
            if source == "omz" and not OMZ.exists():
                print(f"{OMZ} is absent: no omz rows", file=sys.stderr)
                continue
            omz = omz_estimator() if source == "omz" else None
            for set_name, (gt, folder) in sets.items():
                for grouping in args.groupings:
                    codec = OpenPoseCodec(input_size=(HEIGHT, HEIGHT), **VARIANTS[grouping])
                    if omz is not None:
                        omz.codec = codec.at_size(omz.codec.input_size)
                        est = omz
                    else:
                        est = perfect_estimator(codec)
                    m, times = score(est, gt, folder, Path(tmp))
                    n_persons = sum(1 for a in gt["annotations"] if a["num_keypoints"] > 0)
                    row = {"source": source, "set": set_name, "grouping": grouping, "images": len(times),
                           "persons": n_persons, "AP": m["AP"], "AP50": m["AP50"], "AP75": m["AP75"],
                           "AR": m["AR"], "decode_ms_median": 1000 * float(np.median(times)),
                           "decode_ms_mean": 1000 * float(np.mean(times))}  # fmt: skip
                    rows.append(row)
                    print(f"{source:8s} {set_name:11s} {grouping:12s} {row['images']:5d} {n_persons:5d} "
                          f"{m['AP']:6.3f} {m['AP50']:6.3f} {m['AR']:6.3f} {row['decode_ms_median']:7.2f}",
                          flush=True)  # fmt: skip
    for row in rows:  # decode time relative to the old default (greedy) on the same source and set
        key = (row["source"], row["set"], "greedy")
        base = next((r for r in rows if (r["source"], r["set"], r["grouping"]) == key), None)
        if base is not None:
            row["time_ratio_vs_greedy"] = row["decode_ms_median"] / max(base["decode_ms_median"], 1e-9)
    print(markdown(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"height": HEIGHT, "stride": 8, "threads": 1, "default": DEFAULT, "crowd_min_persons": CROWD_MIN,
            "decode_repeats": REPEATS, "variants": VARIANTS}  # fmt: skip
    args.out.write_text(json.dumps({"settings": meta, "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
