"""``demo_image``: one real image through the whole inference pipeline, rendered to a file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np

# The real images beside the checkout (../shared); absent in an installed package.
SHARED = Path(__file__).resolve().parents[3].parent / "shared"
DEMO_DIR = SHARED / "data" / "coco-mini" / "val2017"
PEER_IR = SHARED / "peers" / "omz-human-pose-estimation-0001" / "human-pose-estimation-0001.xml"


def _demo_input() -> tuple[np.ndarray | Path, str]:
    """A real COCO val2017 image from ../shared when present, else a synthetic figure (with a note)."""
    if DEMO_DIR.is_dir():
        preferred = DEMO_DIR / "000000397133.jpg"  # one person, standing, well lit
        images = [preferred] if preferred.exists() else sorted(DEMO_DIR.glob("*.jpg"))
        if images:
            return images[0], f"real image {images[0]}"
    img = np.full((256, 256, 3), 40, np.uint8)
    pts = {"head": (128, 50), "neck": (128, 80), "hip": (128, 150)}
    cv2.circle(img, pts["head"], 20, (200, 200, 200), -1)
    cv2.line(img, pts["neck"], pts["hip"], (200, 200, 200), 8)
    for end in ((80, 130), (176, 130), (100, 230), (156, 230)):
        cv2.line(img, pts["neck"] if end[1] < 200 else pts["hip"], end, (200, 200, 200), 6)
    return img, f"synthetic stick figure ({DEMO_DIR} is absent: the real data lives in ../shared)"


def _default_model() -> tuple[str, str]:
    """The trained peer network when ../shared has it (real poses), else a small random-init model."""
    if PEER_IR.exists():
        return str(PEER_IR), "trained Lightweight OpenPose (Intel OMZ human-pose-estimation-0001, INT8 IR)"
    return "litepose_xs", "litepose_xs with random weights (no trained weights here: the poses mean nothing)"


def demo_image(
    out_dir: str | Path,
    model: str | None = None,
    weights: str | Path | None = None,
    backend: str = "auto",
    input_size: int | str | None = None,
) -> Path:
    """Run one image (a coco-mini val2017 image, or a synthetic one when ../shared is absent)
    through the full pipeline and write ``OUT/demo_pose.jpg`` (the rendered poses),
    ``OUT/demo_pose_heatmaps.jpg`` (+ ``_pafs`` / ``_tags``: raw outputs) and ``OUT/demo_pose.json``.

    ``model``: a registered name or a model file; by default the trained OMZ Lightweight OpenPose
    from ../shared/peers when present (run through ``lw_openpose``'s head and codec), else
    ``litepose_xs`` with random weights. Prints where the image and model came from and the stage
    timings; returns the rendered image's path."""
    from featherpose.inference import PoseEstimator
    from featherpose.viz import draw_poses, save_maps

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    image, origin = _demo_input()
    print(f"demo image: {origin}")
    if model is None:
        model, about = _default_model()
        input_size = input_size or (368 if model == str(PEER_IR) else None)
    else:
        about = model if weights is not None else f"{model} with random weights (the poses mean nothing)"
    print(f"model: {about}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if weights is None else "default")
        est = PoseEstimator(model, weights, backend=backend, input_size=input_size)
    poses, maps = est.predict_batch([image], return_maps=True)
    pixels = cv2.imread(str(image)) if isinstance(image, Path) else image
    path = out / "demo_pose.jpg"
    cv2.imwrite(str(path), draw_poses(pixels, poses[0], est.output_keypoint_set))
    save_maps(pixels, maps[0], out, "demo_pose")
    results = [p.to_coco(0, file_name=str(image) if isinstance(image, Path) else "synthetic") for p in poses[0]]
    (out / "demo_pose.json").write_text(json.dumps(results))
    ms = est.timer.per_image_ms()
    print(f"{len(poses[0])} poses; " + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items()) + f" -> {path}")
    return path
