"""``featherpose eval`` AP next to the pycocotools AP of ``featherpose infer`` (same weights, flip,
boxes given as a detection file, torch backend) on coco-mini val: one prediction path, so the two
agree (docs/evaluation.md, "One prediction path").

    python benchmarks/eval_equals_infer.py [--max-images 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

from featherpose import pretrained
from featherpose.cli import main
from featherpose.data import CocoKeypoints
from featherpose.evaluation.coco import coco_keypoint_ap, load_coco
from featherpose.inference.split import ground_truth_boxes

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco-mini"
CASES = [("mobileposenet", [256, 192], "heatmap-dark", "heatmap", True), ("ghostpose", [368, 368], "openpose",
                                                                          "openpose", False)]  # fmt: skip


def _quiet(argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0, argv
    return buf.getvalue()


def run(model: str, size: list[int], codec: str, loss: str, flip: bool, max_images: int, tmp: Path) -> dict:
    """Both APs for the shipped weights of ``model`` on the first ``max_images`` val images."""
    weights = pretrained.shipped(model)
    ann = "annotations/person_keypoints_val2017.json"
    cfg = {"model": {"name": model}, "input_size": size, "codec": {"name": codec}, "loss": {"type": loss},
           "data": {"type": "coco", "root": str(DATA), "train_ann": ann, "train_images": "val2017",
                    "val_ann": ann, "val_images": "val2017"}, "eval": {"flip": flip}}  # fmt: skip
    config = tmp / f"{model}.yaml"
    config.write_text(json.dumps(cfg))
    records = CocoKeypoints(DATA / ann).images[:max_images]
    det = tmp / "det.json"
    det.write_text(json.dumps(ground_truth_boxes(records)))
    ap_eval = json.loads(_quiet(["eval", str(config), "--weights", str(weights), "--json",
                                 "--max-images", str(max_images)]))["AP"]  # fmt: skip
    out = tmp / model
    images = [str(DATA / "val2017" / r.file_name) for r in records]
    _quiet(["infer", *images, "--model", str(weights), "--boxes", str(det), "--backend", "torch",
            "--out", str(out), "--no-render", *(["--flip"] if flip else [])])  # fmt: skip
    ids = {r.id for r in records}
    gt = load_coco(DATA / ann)
    sub = {**gt.dataset, "images": [i for i in gt.dataset["images"] if i["id"] in ids],
           "annotations": [a for a in gt.dataset["annotations"] if a["image_id"] in ids]}  # fmt: skip
    preds = [p for p in json.loads((out / "predictions.json").read_text()) if p["image_id"] in ids]
    ap_infer = coco_keypoint_ap(sub, preds)["AP"]
    return {"model": model, "flip": flip, "images": len(records), "eval_AP": ap_eval, "infer_AP": ap_infer,
            "difference": ap_eval - ap_infer}  # fmt: skip


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-images", type=int, default=20)
    args = parser.parse_args()
    print("| model | flip | images | eval AP | infer AP | difference |\n|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            if pretrained.shipped(case[0]) is None:
                continue
            r = run(*case, args.max_images, Path(tmp))
            print(f"| {r['model']} | {r['flip']} | {r['images']} | {r['eval_AP']:.4f} | {r['infer_AP']:.4f} | "
                  f"{r['difference']:+.4f} |")  # fmt: skip


if __name__ == "__main__":
    main_cli()
