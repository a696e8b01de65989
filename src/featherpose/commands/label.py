"""``featherpose label``: pseudo-label images with any model featherpose runs -> a COCO keypoint file,
optionally merged into a human-labelled file (``--merge``; rules in :func:`featherpose.label.merge`).

Long jobs do not lose work: every image's raw poses are appended (flushed) to ``OUT.partial.jsonl``
as they come; a rerun with the same model and root skips the images already there. The final file is
written atomically, then the partial file is removed. Thresholds apply at the end, so a rerun may
change them.

Exit status: 0 when at least one image was labelled (bad images are listed on stderr as
"skipped N inputs:" with one "file: reason" line each); 2 when none was (a single bad input prints
one "featherpose label: error: FILE: PROBLEM" line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from tqdm import tqdm

from featherpose.cli import CLIError
from featherpose.commands.args import SIZE_METAVAR, size_arg
from featherpose.engine.checkpoint import CheckpointError
from featherpose.io import InputError, image_header, open_image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"})
PARTIAL_SUFFIX = ".partial.jsonl"
PARTIAL_VERSION = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("label", help="pseudo-label images into a COCO keypoint file (optionally merged)",
                       description="Run a pose model over images and write its poses as a COCO keypoint "
                                   "file; with --merge, fill the gaps of a human-labelled file with them.")  # fmt: skip
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders of images")
    p.add_argument("--model", required=True,
                   help="anything PoseEstimator takes: a weights file written by featherpose, a registered "
                        "model name (with --weights or shipped weights), an exported .onnx / .xml, or an "
                        "external OpenPose-contract model file (e.g. human-pose-estimation-0001.xml)")  # fmt: skip
    p.add_argument("--weights", help="with a model name: safetensors weights or a shipped tag (default: the "
                                     "model's shipped weights)")  # fmt: skip
    p.add_argument("--out", required=True, metavar="LABELS.json", help="output COCO keypoint file")
    p.add_argument("--input-size", type=size_arg, metavar=SIZE_METAVAR,
                   help="network input size (default: the model's)")  # fmt: skip
    p.add_argument("--contract", metavar="JSON|FILE.json", help="input/output contract of an external model file")
    p.add_argument("--backend", default="auto", help="auto (default), torch, onnxruntime, openvino")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "int8"),
                   help="network precision (default auto)")  # fmt: skip
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--flip", action="store_true", help="flip test (average with the mirrored input)")
    p.add_argument("--detector", help="top-down models: bottom-up model giving the person boxes "
                                      "(default: featherpose's shipped detector)")  # fmt: skip
    p.add_argument("--detector-weights", help="weights of --detector (default: its shipped ones)")
    p.add_argument("--kpt-thr", type=float, default=0.3, help="keypoints scoring less are unlabelled (default 0.3)")
    p.add_argument("--pose-thr", type=float, default=0.2, help="poses scoring less are dropped (default 0.2)")
    p.add_argument("--min-keypoints", type=int, default=3,
                   help="poses with fewer labelled keypoints are dropped (default 3)")  # fmt: skip
    p.add_argument("--merge", metavar="HUMAN.json",
                   help="human-labelled COCO keypoint file: keep its labels, fill missing points from the "
                        "matched pseudo pose; OUT is the merged file")  # fmt: skip
    p.add_argument("--unmatched", default="person", choices=("person", "ignore", "drop"),
                   help="--merge: what an unmatched confident pseudo person becomes (default person)")  # fmt: skip
    p.add_argument("--oks-thr", type=float, default=0.3, help="--merge: OKS needed to match (default 0.3)")
    p.add_argument("--root", metavar="DIR",
                   help="file names are relative to DIR (default: the common folder of the inputs)")  # fmt: skip
    p.add_argument("--recursive", action="store_true", help="also take images in sub-folders")
    p.set_defaults(func=run)


# -- inputs ----------------------------------------------------------------------------------------
def collect_images(inputs: list[str], recursive: bool = False) -> tuple[list[Path], list[tuple[str, str]]]:
    """Image files of ``inputs`` (folders expanded, sorted; duplicates removed) and (input, problem)
    for missing paths and folders without images."""
    images: list[Path] = []
    failures: list[tuple[str, str]] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            found = p.rglob("*") if recursive else p.iterdir()
            items = sorted(f for f in found if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not items:
                failures.append((str(p), "folder holds no images" + ("" if recursive else " (--recursive?)")))
            images += items
        elif not p.exists():
            failures.append((str(p), "file not found"))
        else:
            images.append(p)
    seen: set[str] = set()
    unique = []
    for p in images:
        key = os.path.normpath(p.absolute())
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique, failures


def common_root(inputs: list[str]) -> Path:
    """The common folder of the inputs: folders count as themselves, files as their folder."""
    dirs = [Path(os.path.normpath(Path(raw).absolute())) for raw in inputs if Path(raw).exists()]
    dirs = [d if d.is_dir() else d.parent for d in dirs]
    return Path(os.path.commonpath(dirs)) if dirs else Path.cwd()


def relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (what a COCO ``file_name`` holds)."""
    rel = os.path.relpath(os.path.normpath(path.absolute()), root)
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise CLIError(f"{path}: not under --root {root}")
    return Path(rel).as_posix()


def image_ids(names: list[str]) -> dict[str, int]:
    """COCO-style names (``000000000139.jpg``) keep their number as image id; the others get running
    ids from 1 that avoid them."""
    from featherpose.inference.boxes import assign_image_ids

    return assign_image_ids(names, first=1)


def partial_path(out: Path) -> Path:
    """Where the per-image results of an unfinished run of ``out`` live."""
    return out.with_name(out.name + PARTIAL_SUFFIX)


def load_partial(path: Path, header: dict) -> dict[str, dict]:
    """Records (file name -> record) of an earlier run with the same ``header``; a torn last line is
    cut off. A partial file of another model / root is refused."""
    if not path.exists():
        return {}
    done: dict[str, dict] = {}
    good = 0
    with path.open("rb") as fh:
        lines = fh.readlines()
    for i, line in enumerate(lines):
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if i == len(lines) - 1:  # interrupted mid-write
                break
            raise CLIError(f"{path}: line {i + 1} is not valid JSON; delete the file to start over") from None
        if not line.endswith(b"\n"):
            break
        good += len(line)
        if i == 0:
            if not isinstance(rec, dict) or rec.get("featherpose_label") != PARTIAL_VERSION:
                raise CLIError(f"{path}: not a featherpose label partial file; delete it to start over")
            diff = [k for k in header if rec.get(k) != header[k]]
            if diff:
                raise CLIError(f"{path}: holds results of another run (different {', '.join(diff)}); "
                               f"delete it to start over")  # fmt: skip
            continue
        done[rec["file_name"]] = rec
    if good < sum(len(line) for line in lines):
        with path.open("r+b") as fh:
            fh.truncate(good)
    return done


def _record(name: str, width: int, height: int, poses: list) -> dict:
    """One line of the partial file: an image's size and raw poses ((x, y, score) per keypoint)."""

    def points(kps: object) -> list:
        return [[round(float(x), 2), round(float(y), 2), round(float(s), 4)] for x, y, s in kps]

    found = [{"keypoints": points(p.keypoints), "score": round(float(p.score), 5)} for p in poses]
    return {"file_name": name, "width": width, "height": height, "poses": found}


# -- the model -------------------------------------------------------------------------------------
def _needs_weights(model: str, weights: str | None, what: str, flag: str) -> None:
    """Refuse a registered model that would run with random weights (its labels would be noise)."""
    from featherpose import pretrained
    from featherpose.models import list_models

    if model in list_models() and weights is None and not pretrained.has_weights(model):
        raise CLIError(f"{what} {model!r} has no shipped weights: pass {flag} "
                       f"(pseudo labels from random weights are meaningless)")  # fmt: skip


def _load_estimator(args: argparse.Namespace) -> tuple[object, dict]:
    """The estimator and what identifies its results (model, weights, detector) for the partial file."""
    from featherpose.inference import PoseEstimator

    _needs_weights(args.model, args.weights, "model", "--weights")
    extra = {"detector": args.detector} if args.detector else {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = PoseEstimator(
                args.model, args.weights, args.device, backend=args.backend, input_size=args.input_size,
                precision=args.precision, contract=args.contract, flip=args.flip,
                detector_weights=args.detector_weights, **extra,
            )  # fmt: skip
    except (InputError, CheckpointError) as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    top_down = est.paradigm == "top-down" and est.detections is None
    if top_down:
        _needs_weights(est.detector_name, args.detector_weights, "detector", "--detector-weights")
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    weights = getattr(est, "weights", None) or args.weights
    identity = {
        "model": str(args.model), "weights": None if weights is None else str(weights),
        "input_size": _size_text(args.input_size), "contract": args.contract, "flip": bool(args.flip),
        "detector": est.detector_name if top_down else None,
        "detector_weights": args.detector_weights if top_down else None,
        "keypoints": list(est.output_keypoint_set.keypoints),
    }  # fmt: skip
    return est, identity


def _size_text(size: int | tuple[int, int] | None) -> str | None:
    """``--input-size`` as the partial file records it: ``"368"`` or ``"256x192"`` (None: the model's)."""
    return None if size is None else str(size) if isinstance(size, int) else f"{size[0]}x{size[1]}"


# -- the command -----------------------------------------------------------------------------------
def _read_human(path: str) -> dict:
    """The --merge file, checked (one-line errors) before any image is run."""
    from featherpose.data.coco import CocoKeypoints, read_json

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CocoKeypoints(path)  # validates the structure, keypoint set and every annotation
    return read_json(path)


def run(args: argparse.Namespace) -> int:
    """``featherpose label``."""
    from featherpose import label

    start = time.perf_counter()
    for name in ("kpt_thr", "pose_thr", "oks_thr"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise CLIError(f"--{name.replace('_', '-')} must be in [0, 1], got {getattr(args, name)}")
    out = Path(args.out)
    if out.is_dir():
        raise CLIError(f"--out {out}: is a folder; give the output file, e.g. {out / 'labels.json'}")
    images, failures = collect_images(args.inputs, args.recursive)
    single = len(args.inputs) == 1 and len(images) <= 1
    if single and failures:
        raise CLIError(f"{failures[0][0]}: {failures[0][1]}")
    if not images:
        why = "; ".join(f"{n}: {r}" for n, r in failures[:3]) + ("; ..." if len(failures) > 3 else "")
        raise CLIError(f"no images to label ({why})")
    if single:  # fail fast, before the model is built
        try:
            image_header(images[0])
        except InputError as exc:
            raise CLIError(str(exc)) from None
    root = Path(os.path.normpath(Path(args.root).absolute())) if args.root else common_root(args.inputs)
    names = [relative_name(p, root) for p in images]
    human = _read_human(args.merge) if args.merge else None
    est, identity = _load_estimator(args)
    kset = est.output_keypoint_set
    if human is not None:
        h_names = label.keypoint_category(human)["keypoints"]
        if not set(h_names) & set(kset.keypoints):
            raise CLIError(f"{args.merge}: its keypoints ({', '.join(h_names[:4])}, ...) share no name with the "
                           f"model's ({', '.join(kset.keypoints[:4])}, ...)")  # fmt: skip
    header = {"featherpose_label": PARTIAL_VERSION, **identity, "root": str(root)}

    partial = partial_path(out)
    done = load_partial(partial, header)
    resumed = sum(n in done for n in names)
    todo = [(p, n) for p, n in zip(images, names, strict=True) if n not in done]
    partial.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("a", encoding="utf-8") as fh:
        if fh.tell() == 0:
            fh.write(json.dumps(header) + "\n")
        try:
            for path, name in tqdm(todo, desc="label", unit="img", disable=len(todo) < 2, leave=False):
                try:
                    image = open_image(path)
                    poses = est(image)
                except InputError as exc:
                    failures.append((str(path), exc.problem))
                    continue
                h, w = image.pixels.shape[:2]
                size = round(w * image.scale[0]), round(h * image.scale[1])
                done[name] = _record(name, *size, poses)
                fh.write(json.dumps(done[name]) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except KeyboardInterrupt:
            fh.flush()
            print(f"interrupted: {sum(n in done for n in names)} of {len(names)} images are saved in {partial}; "
                  f"rerun the same command to resume", file=sys.stderr)  # fmt: skip
            raise

    labelled = [n for n in names if n in done]
    if single and failures:
        partial.unlink(missing_ok=True)
        raise CLIError(f"{failures[0][0]}: {failures[0][1]}")
    if labelled:
        ids = image_ids(labelled)
        pseudo: dict = {
            "info": {"description": f"featherpose pseudo labels: {args.model}",
                     "kpt_thr": args.kpt_thr, "pose_thr": args.pose_thr, "min_keypoints": args.min_keypoints},
            "images": [], "annotations": [], "categories": [label.category_of(kset)],
        }  # fmt: skip
        for n in labelled:
            rec = done[n]
            pseudo["images"].append({"id": ids[n], "file_name": n, "width": rec["width"], "height": rec["height"]})
            found = [(p["keypoints"], p["score"]) for p in rec["poses"]]
            first = len(pseudo["annotations"]) + 1
            pseudo["annotations"] += label.annotate(found, ids[n], first, args.kpt_thr, args.pose_thr,
                                                    args.min_keypoints)  # fmt: skip
        result, counts = (pseudo, None) if human is None else label.merge(human, pseudo, args.unmatched, args.oks_thr)
        label.write_json(result, out)
        partial.unlink(missing_ok=True)
        persons = len(pseudo["annotations"])
        seconds = time.perf_counter() - start
        more = f" ({resumed} resumed from {partial.name})" if resumed else ""
        print(f"{len(labelled)} images{more}, {persons} pseudo-labelled persons, {seconds:.1f} s -> {out}")
        if counts is not None:
            print(f"merge: {counts['matched']} human persons matched, {counts['filled_points']} points filled, "
                  f"{counts['extra_persons']} extra persons, {counts['ignore_regions']} ignore regions, "
                  f"{counts['duplicates']} duplicates dropped; {counts['images_labelled']} of "
                  f"{len(human['images'])} human images pseudo-labelled, {counts['images_not_in_human']} "
                  f"pseudo-labelled images not in {args.merge} (left out)")  # fmt: skip
            if counts["images_labelled"] == 0:
                print(f"warning: no labelled file name is in {args.merge} (e.g. {labelled[0]!r}); "
                      f"check --root", file=sys.stderr)  # fmt: skip
    else:
        partial.unlink(missing_ok=True)
        print(f"0 images labelled, nothing written to {out}")
    if failures:
        print(f"skipped {len(failures)} inputs:", file=sys.stderr)
        for name, reason in failures:
            print(f"  {name}: {reason}", file=sys.stderr)
    return 0 if labelled else 2
