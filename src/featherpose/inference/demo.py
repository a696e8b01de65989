"""``demo_image``: the shipped default pipeline on the bundled real photo, rendered to files.

The photo, ``featherpose/assets/coco_349860.jpg``, is COCO val2017 image 349860 (a skateboarder in
the air; byte-identical to the COCO file), from Flickr under CC BY-SA 2.0 (see
``featherpose/assets/README.md``). The shipped weights never saw it: they were trained on LSPET and
coco-mini *train*2017.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from featherpose import pretrained

if TYPE_CHECKING:
    from featherpose.inference.estimator import PoseEstimator
    from featherpose.inference.pose import Pose

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEMO_PHOTO = ASSETS / "coco_349860.jpg"
DEMO_IMAGE_ID = 349860  # its COCO val2017 id: the JSON can be scored against COCO's annotations
PHOTO_CREDIT = (
    "COCO val2017 #349860, Flickr http://farm5.staticflickr.com/4025/4590246533_c351aefccd_z.jpg, "
    "CC BY-SA 2.0 (http://creativecommons.org/licenses/by-sa/2.0/)"
)
KPT_THR = 0.3  # a keypoint "found" in the demo's summary

# The real COCO slice beside a checkout (../shared; absent in an installed package). Not used by the
# demo any more; benchmarks take their sample picture from it.
SHARED = Path(__file__).resolve().parents[3].parent / "shared"
DEMO_DIR = SHARED / "data" / "coco-mini" / "val2017"


class DemoUnavailable(FileNotFoundError):
    """A file the demo needs is missing from this installation (one line saying which)."""


def _weights_note(est: PoseEstimator) -> str:
    """``NAME, weights FILE`` plus the training provenance of a shipped / self-describing file."""
    meta = est.meta
    name = meta.model if meta is not None else est.name
    if est.model is None:  # an ONNX / OpenVINO file: it holds its weights
        line = f"{est.name} (model file)"
    elif est.weights is None:
        return f"{name} with random weights (the poses mean nothing)"
    elif Path(est.weights).parent == pretrained.WEIGHTS_DIR:
        line = f"{name}, shipped weights featherpose/weights/{Path(est.weights).name}"
    else:
        line = f"{name}, weights {est.weights}"
    if meta is not None:
        line += f" ({meta.paradigm}, {meta.keypoint_set.name}, {meta.input_size[0]}x{meta.input_size[1]}, {meta.codec})"
        prov = meta.provenance
        trained = "; ".join(str(prov[k]) for k in ("recipe", "data", "hardware") if prov.get(k))
        if trained:
            line += f"\n    trained: {trained}"
    return line


def _paradigm(model: str | Path) -> str | None:
    from featherpose.models import get_spec, list_models

    return get_spec(str(model)).paradigm if str(model) in list_models() else None


def _check_shipped(model: str, detector: str | None) -> None:
    for name in (model, detector):
        if name is not None and not pretrained.has_weights(name):
            files = ", ".join(pretrained.PRETRAINED.get(name, {}).values()) or f"{name}-*.safetensors"
            raise DemoUnavailable(f"the shipped weights of {name} are missing ({pretrained.WEIGHTS_DIR / files}): "
                                  "reinstall featherpose, or run featherpose infer with your weights")  # fmt: skip


def person_summary(pose: Pose, names: tuple[str, ...], thr: float = KPT_THR) -> dict:
    """One person's keypoint names and scores, and how many score ``>= thr``."""
    scores = np.asarray(pose.keypoints, np.float64)[:, 2]
    return {
        "keypoint_names": list(names),
        "keypoint_scores": [round(float(s), 4) for s in scores],
        "num_keypoints_found": int((scores >= thr).sum()),
    }


def demo_image(
    out_dir: str | Path,
    model: str | Path | None = None,
    weights: str | Path | None = None,
    backend: str = "torch",
    input_size: int | str | None = None,
    image: str | Path | None = None,
) -> Path:
    """Run the bundled photo (or ``image``) through the full pipeline and write ``OUT/demo_pose.jpg``
    (the poses drawn), ``OUT/demo_pose_heatmaps.jpg`` (+ ``_pafs`` / ``_tags``: raw outputs) and
    ``OUT/demo_pose.json``: a COCO keypoint results list (``image_id`` 349860 for the bundled
    photo), each entry with the person's ``keypoint_names``, ``keypoint_scores`` and
    ``num_keypoints_found`` (score >= 0.3) added. Keypoints and limbs under 0.3 are not drawn; a
    pose with no keypoint at 0.3 is not counted as a person (it stays in the JSON).

    ``model``: by default :data:`featherpose.pretrained.DEFAULT_MODEL` with its shipped weights,
    its person boxes from :data:`~featherpose.pretrained.DEFAULT_DETECTOR` (missing shipped
    weights raise :class:`DemoUnavailable`, one line); any name or model file otherwise (a name
    without weights runs with random weights, said in the output). Prints the photo and its credit,
    the model and the weights' provenance, the persons found and, per person, how many keypoints
    score >= 0.3; returns the rendered image's path."""
    from featherpose.inference.estimator import PoseEstimator
    from featherpose.viz import draw_poses, save_maps

    photo = Path(image) if image is not None else DEMO_PHOTO
    if not photo.is_file():
        raise DemoUnavailable(f"the demo photo {photo} is missing: reinstall featherpose")
    if model is None:
        model = pretrained.DEFAULT_MODEL
        _check_shipped(model, pretrained.DEFAULT_DETECTOR if _paradigm(model) == "top-down" else None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    credit = PHOTO_CREDIT if photo.resolve() == DEMO_PHOTO.resolve() else "your image"
    pixels = cv2.imread(str(photo))
    if pixels is None:
        raise DemoUnavailable(f"{photo}: cannot be read as an image")
    print(f"photo: {photo} ({pixels.shape[1]}x{pixels.shape[0]})\n    credit: {credit}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(random weights|meaningless)")  # said in the output below
        est = PoseEstimator(model, weights, backend=backend, input_size=input_size)  # type: ignore[arg-type]
        print(f"model: {_weights_note(est)}")
        poses, maps = est.predict_batch([pixels], return_maps=True)
    if est.paradigm == "top-down" and est.detections is None:
        print(f"person boxes: {_weights_note(est.detector)}")
    path = out / "demo_pose.jpg"
    if not cv2.imwrite(str(path), draw_poses(pixels, poses[0], est.output_keypoint_set, kpt_thr=KPT_THR)):
        raise OSError(f"{path}: cannot be written")
    save_maps(pixels, maps[0], out, "demo_pose")
    image_id = DEMO_IMAGE_ID if credit == PHOTO_CREDIT else 0
    names = est.output_keypoint_set.keypoints
    results = [p.to_coco(image_id, **person_summary(p, names)) for p in poses[0]]
    (out / "demo_pose.json").write_text("[\n" + ",\n".join(json.dumps(r) for r in results) + "\n]\n")
    persons = [r for r in results if r["num_keypoints_found"]]
    rest = len(results) - len(persons)
    print(
        f"persons: {len(persons)} (poses with a keypoint scoring >= {KPT_THR}"
        + (f"; {rest} more pose{'s' * (rest > 1)} without one, in the JSON, not drawn)" if rest else ")")
    )
    for i, r in enumerate(persons, 1):
        print(f"  person {i}: {r['num_keypoints_found']}/{len(names)} keypoints with score >= {KPT_THR} "
              f"(pose score {r['score']:.2f}, box {', '.join(f'{v:.0f}' for v in r['bbox'])})")  # fmt: skip
    ms = est.timer.per_image_ms()
    print(f"{backend} backend, one cold call: " + ", ".join(f"{k} {v:.0f} ms" for k, v in ms.items()))
    print(f"wrote {path} and {out / 'demo_pose.json'}")
    return path
