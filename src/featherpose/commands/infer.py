"""``featherpose infer``: poses for images, folders and videos -> predictions.json + rendered outputs.

Exit status: 0 when every input worked, and also when at least one did (the failures are listed on
stderr as "skipped N inputs:" with one "file: reason" line each); 2 when nothing succeeded (a single
bad input prints one "featherpose infer: error: FILE: PROBLEM" line).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from featherpose import pretrained
from featherpose.cli import CLIError
from featherpose.engine.checkpoint import CheckpointError
from featherpose.io import InputError, LoadedImage, image_header, open_image
from featherpose.video import VIDEO_SUFFIXES, estimate_video, is_video, video_info

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"})


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("infer", help="estimate poses in images, folders and videos",
                       description="Estimate poses; write OUT/predictions.json (COCO results) and rendered "
                                   "images / annotated videos.")  # fmt: skip
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images/videos, video files")
    p.add_argument("--model", default=pretrained.DEFAULT_MODEL,
                   help="a weights file written by featherpose (runs/x/best.safetensors, or a training dir), "
                        "a registered model name (`featherpose models`), or an .onnx / OpenVINO .xml file "
                        f"(default: {pretrained.DEFAULT_MODEL})")  # fmt: skip
    p.add_argument("--weights", help="with a model name: safetensors weights (or a training dir) or a "
                                     "shipped tag; default: the model's shipped weights, else random init "
                                     "with a warning")  # fmt: skip
    p.add_argument("--out", default="featherpose-out", help="output folder (default: featherpose-out)")
    p.add_argument("--boxes", metavar="DET.json",
                   help="COCO detection results with person boxes (top-down models, images only)")  # fmt: skip
    p.add_argument("--detector", default=pretrained.DEFAULT_DETECTOR,
                   help="bottom-up model (name or weights file) giving boxes when --boxes is absent "
                        f"(default: {pretrained.DEFAULT_DETECTOR}, with its shipped weights)")  # fmt: skip
    p.add_argument("--detector-weights", help="weights of the --detector model")
    p.add_argument("--nms", default="parallel", choices=("parallel", "oks", "soft", "none"),
                   help="top-down pose NMS (default parallel OKS-NMS)")  # fmt: skip
    p.add_argument("--flip", action="store_true", help="flip test (average with the mirrored input)")
    p.add_argument("--scales", default="1", help="comma-separated test scales, e.g. 1,0.75,1.25 (default 1)")
    p.add_argument("--input-size", metavar="H|HxW", help="network input size (default: the model's)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--backend", default="auto",
                   help="auto (OpenVINO when installed, else torch), torch, onnxruntime, openvino")  # fmt: skip
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "int8"),
                   help="auto (bf16 on OpenVINO where the CPU has it, else fp32), fp32, bf16, int8")  # fmt: skip
    p.add_argument("--contract", metavar="JSON|FILE.json",
                   help="input/output contract of an external .onnx/.xml model, e.g. "
                        "'{\"order\": \"BGR\", \"mean\": [128,128,128], \"std\": [256,256,256]}'")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=16, help="crops / images per network call (default 16)")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON on stdout")
    p.add_argument("--save-maps", action="store_true", help="also write the raw network outputs as images")
    p.add_argument("--no-render", action="store_true", help="do not write rendered images / videos")
    p.add_argument("--track", action="store_true", help="videos: keep person ids across frames")
    p.add_argument("--smooth", action="store_true", help="videos: One-Euro smoothing per person and keypoint")
    p.set_defaults(func=run)


@dataclass
class Job:
    """What one command line produced: input items, results and failures."""

    images: list[Path] = field(default_factory=list)
    videos: list[Path] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)
    done: int = 0


def collect_inputs(inputs: list[str], job: Job) -> None:
    """Expand folders (non-recursive, sorted) into image and video files; record missing paths."""
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            known = IMAGE_SUFFIXES | VIDEO_SUFFIXES
            items = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in known)
            if not items:
                job.failures.append((str(p), "folder holds no images or videos"))
            for f in items:
                (job.videos if is_video(f) else job.images).append(f)
        elif not p.exists():
            job.failures.append((str(p), "file not found"))
        else:
            (job.videos if is_video(p) else job.images).append(p)


def assign_image_ids(paths: list[Path]) -> dict[Path, int]:
    """COCO-style names keep their number as image id; other files get running ids from 0 that avoid them."""
    from featherpose.inference.boxes import assign_image_ids as assign

    return assign(paths, first=0)


def _unique_stem(path: Path, used: set[str]) -> str:
    stem, i = path.stem, 1
    while stem in used:
        stem, i = f"{path.stem}_{i}", i + 1
    used.add(stem)
    return stem


def _load_estimator(args: argparse.Namespace) -> object:
    from featherpose.inference import PoseEstimator

    try:
        scales = tuple(float(s) for s in args.scales.split(",") if s.strip())
    except ValueError:
        raise CLIError(f"--scales: expected numbers like 1,0.75, got {args.scales!r}") from None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = PoseEstimator(
                args.model, args.weights, args.device, backend=args.backend, input_size=args.input_size,
                precision=args.precision, contract=args.contract,
                flip=args.flip, scales=scales,
                boxes_file=args.boxes, detector=args.detector, detector_weights=args.detector_weights,
                batch_size=args.batch_size, nms=args.nms,
            )  # fmt: skip
    except (InputError, CheckpointError) as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return est


def _run_images(est: object, job: Job, ids: dict[Path, int], out: Path, args: argparse.Namespace) -> None:
    from featherpose.viz import draw_poses, save_maps

    used: set[str] = set()
    render = not args.no_render
    bar = tqdm(job.images, desc="images", unit="img", disable=len(job.images) < 2, leave=False)
    chunk = max(1, min(args.batch_size, 8))
    for start in range(0, len(job.images), chunk):
        loaded: list[tuple[Path, LoadedImage]] = []
        for path in job.images[start : start + chunk]:
            try:
                loaded.append((path, open_image(path)))
            except InputError as exc:
                job.failures.append((str(path), exc.problem))
        bar.update(len(job.images[start : start + chunk]))
        if not loaded:
            continue
        images, image_ids = [im for _, im in loaded], [ids[p] for p, _ in loaded]
        try:
            if args.save_maps:
                poses, maps = est.predict_batch(images, image_ids=image_ids, return_maps=True)
            else:
                poses, maps = est.predict_batch(images, image_ids=image_ids), None
        except InputError as exc:
            job.failures.extend((str(p), exc.problem) for p, _ in loaded)
            continue
        for i, ((path, image), found) in enumerate(zip(loaded, poses, strict=True)):
            job.predictions += [p.to_coco(ids[path], file_name=str(path)) for p in found]
            job.done += 1
            stem = _unique_stem(path, used) if render or args.save_maps else path.stem
            if render:
                shown = _in_decoded_frame(found, image)
                cv2.imwrite(str(out / f"{stem}.jpg"), draw_poses(image.pixels, shown, est.output_keypoint_set))
            if maps is not None:
                save_maps(image.pixels, maps[i], out / "maps", stem)
    bar.close()


def _in_decoded_frame(poses: list, image: LoadedImage) -> list:
    """Poses in original pixels -> the decoded (possibly reduced) image's pixels, for drawing."""
    if not image.reduced:
        return poses
    from dataclasses import replace

    fx, fy = image.scale
    out = []
    for p in poses:
        kp = p.keypoints.copy()
        kp[:, 0], kp[:, 1] = (kp[:, 0] + 0.5) / fx - 0.5, (kp[:, 1] + 0.5) / fy - 0.5
        x, y, w, h = p.box
        out.append(replace(p, keypoints=kp, box=((x + 0.5) / fx - 0.5, (y + 0.5) / fy - 0.5, w / fx, h / fy)))
    return out


def _run_videos(est: object, job: Job, out: Path, args: argparse.Namespace, next_id: int) -> None:
    """Videos: frames have no image id, so a top-down model takes boxes from the detector."""
    used: set[str] = set()
    est.detections = None
    for path in job.videos:
        dst = None if args.no_render else out / f"{_unique_stem(path, used)}.mp4"
        try:
            frames = estimate_video(est, path, dst, track=args.track, smooth=args.smooth)
        except InputError as exc:
            job.failures.append((str(path), exc.problem))
            continue
        for index, poses in enumerate(frames):
            job.predictions += [p.to_coco(next_id, file_name=str(path), frame=index) for p in poses]
            next_id += 1
        job.done += 1


def run(args: argparse.Namespace) -> int:
    job = Job()
    collect_inputs(args.inputs, job)
    single = len(args.inputs) == 1 and len(job.images) + len(job.videos) <= 1
    if single and job.failures:
        raise CLIError(f"{job.failures[0][0]}: {job.failures[0][1]}")
    if single:  # fail fast, before the model is built
        try:
            header = image_header if job.images else video_info
            header(job.images[0] if job.images else job.videos[0])
        except InputError as exc:
            raise CLIError(str(exc)) from None
    est = _load_estimator(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ids = assign_image_ids(job.images)
    _run_images(est, job, ids, out, args)
    _run_videos(est, job, out, args, max(ids.values(), default=-1) + 1)
    if single and job.failures:
        raise CLIError(f"{job.failures[0][0]}: {job.failures[0][1]}")
    if job.done:
        (out / "predictions.json").write_text(json.dumps(job.predictions))
    if args.json:
        print(json.dumps(job.predictions))
    else:
        print(f"{job.done} inputs, {len(job.predictions)} poses -> {out / 'predictions.json'}")
    if job.failures:
        print(f"skipped {len(job.failures)} inputs:", file=sys.stderr)
        for name, reason in job.failures:
            print(f"  {name}: {reason}", file=sys.stderr)
    return 0 if job.done else 2
