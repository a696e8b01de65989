"""Pack COCO-format keypoint datasets into one compact training copy: images re-encoded (WebP) with the
long side capped, annotations scaled with them, several sources under one category.

Used to carry LSPET + coco-mini to a GPU machine whose upload is limited (docs/pretrained.md), and
useful for any dataset that must travel. Every source must declare the same keypoint names.

    python scripts/pack_dataset.py OUT --source ANN.json IMAGES PREFIX [--source ...] --max-side 256
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from featherpose.label import write_json


def scale_annotation(ann: dict, f: float) -> dict:
    """A copy of ``ann`` with keypoints, box, area and polygon segmentation scaled by ``f``
    (RLE segmentations are replaced by the scaled box)."""
    out = dict(ann)
    kps = np.asarray(ann.get("keypoints", []), np.float64).reshape(-1, 3)
    if len(kps):
        lab = kps[:, 2] > 0
        kps[lab, :2] = (kps[lab, :2] + 0.5) * f - 0.5
        out["keypoints"] = [round(float(v), 2) for v in kps.reshape(-1)]
    if "bbox" in ann:
        out["bbox"] = [round(float(v) * f, 2) for v in ann["bbox"]]
    if "area" in ann:
        out["area"] = round(float(ann["area"]) * f * f, 2)
    seg = ann.get("segmentation")
    if isinstance(seg, list):
        out["segmentation"] = [[round(float(v) * f, 2) for v in poly] for poly in seg]
    elif seg:
        out.pop("segmentation")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--source", nargs=3, action="append", metavar=("ANN", "IMAGES", "PREFIX"), required=True)
    ap.add_argument("--max-side", type=int, default=256)
    ap.add_argument("--quality", type=int, default=75)
    ap.add_argument("--name", default="train")
    args = ap.parse_args()
    images, anns, category, total_bytes = [], [], None, 0
    for ann_path, image_dir, prefix in args.source:
        data = json.loads(Path(ann_path).read_text())
        cat = data["categories"][0]
        if category is None:
            category = cat
        elif list(cat["keypoints"]) != list(category["keypoints"]):
            raise SystemExit(f"{ann_path}: keypoint names differ from the first source's")
        by_image: dict[int, list[dict]] = {}
        for a in data["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        for im in tqdm(data["images"], desc=prefix, mininterval=5):
            src = Path(image_dir) / im["file_name"]
            pixels = cv2.imread(str(src), cv2.IMREAD_COLOR)
            if pixels is None:
                print(f"skip {src}: not a readable image")
                continue
            h, w = pixels.shape[:2]
            f = min(1.0, args.max_side / max(h, w))
            if f < 1.0:
                pixels = cv2.resize(pixels, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
            name = f"{prefix}/{Path(im['file_name']).stem}.webp"
            dest = args.out / "images" / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            ok, buf = cv2.imencode(".webp", pixels, [cv2.IMWRITE_WEBP_QUALITY, args.quality])
            dest.write_bytes(buf.tobytes())
            total_bytes += len(buf)
            new_id = len(images) + 1
            images.append({**{k: v for k, v in im.items() if k in ("license", "coco_url", "flickr_url")},
                           "id": new_id, "file_name": name, "width": pixels.shape[1], "height": pixels.shape[0],
                           "source": f"{prefix}:{im['file_name']}"})  # fmt: skip
            for a in by_image.get(im["id"], []):
                anns.append({**scale_annotation(a, f), "id": len(anns) + 1, "image_id": new_id, "category_id": 1})
    category = {**category, "id": 1}
    out = {"images": images, "annotations": anns, "categories": [category]}
    write_json(out, args.out / "annotations" / f"{args.name}.json")
    print(f"{len(images)} images, {len(anns)} annotations, {total_bytes / 1e6:.1f} MB of images in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
