"""``featherpose infer``: poses for images, folders, globs, videos, cameras and streams ->
predictions.jsonl (as they come) + predictions.json (COCO results) + rendered outputs.

Exit status: 0 when every input worked, and also when at least one did (the failures are listed on
stderr as "skipped N inputs:" with one "file: reason" line each); 2 when nothing succeeded (a single
bad input prints one "featherpose infer: error: FILE: PROBLEM" line); 130 after Ctrl-C and 143 after
SIGTERM (everything done so far is kept: predictions.jsonl and predictions.json).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from featherpose import pretrained
from featherpose.cli import CLIError
from featherpose.commands.args import SIZE_METAVAR, add_draw_arguments, add_list_argument, draw_options, size_arg
from featherpose.engine.checkpoint import CheckpointError
from featherpose.inference.prediction_log import JSONL, ResultLog, rebuild
from featherpose.inference.sources import (
    IMAGE_SUFFIXES,  # noqa: F401 (re-export: the suffixes infer reads as images)
    POLICIES,
    LiveReader,
    Source,
    capture_fps,
    expand,
    open_capture,
)
from featherpose.inference.stream import Frame, load_frame_boxes, load_image_boxes
from featherpose.io import InputError, LoadedImage, image_header, open_image
from featherpose.video import H264_HINT, Window, file_frames, h264_available, open_writer, video_info


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("infer", help="estimate poses in images, folders, videos, cameras and streams",
                       description="Estimate poses; write OUT/predictions.jsonl (one line per image or frame, "
                                   "as they are done), OUT/predictions.json (COCO results) and rendered "
                                   "images / annotated videos.")  # fmt: skip
    p.add_argument("inputs", nargs="*", metavar="SOURCE",
                   help="image or video files, folders, quoted glob patterns ('shots/**/*.jpg'), a camera "
                        "index (0) or a stream URL (rtsp://, http(s)://: anything OpenCV opens)")  # fmt: skip
    p.add_argument("--recursive", action="store_true", help="folders: also their sub-folders")
    p.add_argument("--model", default=pretrained.DEFAULT_MODEL,
                   help="a weights file written by featherpose (runs/x/best.safetensors, or a training dir), "
                        "a registered model name (`featherpose models`), or an .onnx / OpenVINO .xml file "
                        f"(default: {pretrained.DEFAULT_MODEL})")  # fmt: skip
    p.add_argument("--weights", help="with a model name: safetensors weights (or a training dir) or a "
                                     "shipped tag; default: the model's shipped weights, else random init "
                                     "with a warning")  # fmt: skip
    p.add_argument("--out", default="featherpose-out", help="output folder (default: featherpose-out)")
    p.add_argument("--boxes", metavar="DET.json",
                   help="COCO detection results with person boxes for top-down models: images by image_id; "
                        "video frames by a `frame` field (index from 0; with `file_name`, for that video "
                        "only), else image_id = frame index")  # fmt: skip
    p.add_argument("--detector", default=pretrained.DEFAULT_DETECTOR,
                   help="bottom-up model (name or weights file) giving boxes when --boxes is absent "
                        f"(default: {pretrained.DEFAULT_DETECTOR}, with its shipped weights)")  # fmt: skip
    p.add_argument("--detector-weights", help="weights of the --detector model")
    p.add_argument("--nms", default="parallel", choices=("parallel", "oks", "soft", "none"),
                   help="top-down pose NMS (default parallel OKS-NMS)")  # fmt: skip
    p.add_argument("--flip", action="store_true", help="flip test (average with the mirrored input)")
    add_list_argument(p, "--scales", item=float, default=[1.0], metavar="S",
                      help="test scales, e.g. 1,0.75,1.25 or 1 0.75 1.25 (default 1)")  # fmt: skip
    p.add_argument("--input-size", type=size_arg, metavar=SIZE_METAVAR,
                   help="network input size (default: the model's)")  # fmt: skip
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
    p.add_argument(
        "--rebuild",
        metavar="OUT",
        help=f"only rebuild OUT/predictions.json from OUT/{JSONL} (after a run that was killed)",
    )
    v = p.add_argument_group("videos, cameras and streams")
    v.add_argument("--track", action="store_true", help="keep person ids across frames")
    v.add_argument("--smooth", action="store_true", help="One-Euro smoothing per person and keypoint (tracks too)")
    v.add_argument("--det-every", type=int, default=1, metavar="N",
                   help="top-down models: run the person detector every N frames, carry the previous "
                        "frame's pose boxes in between (default 1: every frame)")  # fmt: skip
    v.add_argument("--live-policy", default="drop", choices=POLICIES,
                   help="cameras / streams: drop (default: keep only the newest frame, real time) or "
                        "queue (process every frame, falling behind when slower)")  # fmt: skip
    v.add_argument("--max-frames", type=int, metavar="N", help="stop each video / live source after N frames")
    v.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop each video after SECONDS of video time, each live source after SECONDS")  # fmt: skip
    v.add_argument("--show", action="store_true", help="show the annotated frames in a window (q / Esc: stop)")
    add_draw_arguments(p.add_argument_group("drawing"))
    p.set_defaults(func=run)


@dataclass
class Job:
    """What one command line produced: its sources, failures, the results log and counters."""

    sources: list[Source] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    log: ResultLog | None = None
    done: int = 0
    next_id: int = 0
    stop: bool = False  # the user closed the --show window
    notes: set[str] = field(default_factory=set)

    @property
    def predictions(self) -> list[dict]:
        return self.log.entries if self.log is not None else []

    def note(self, text: str) -> None:
        """Print a one-line note on stderr, once per run."""
        if text not in self.notes:
            self.notes.add(text)
            print(f"note: {text}", file=sys.stderr)


def assign_image_ids(paths: list[Path]) -> dict[Path, int]:
    """COCO-style names keep their number as image id; other files get running ids from 0 that avoid them."""
    from featherpose.inference.boxes import assign_image_ids as assign

    return assign(paths, first=0)


def _unique_stem(stem: str, used: set[str]) -> str:
    out, i = stem, 1
    while out in used:
        out, i = f"{stem}_{i}", i + 1
    used.add(out)
    return out


def _load_estimator(args: argparse.Namespace) -> object:
    from featherpose.inference import PoseEstimator

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = PoseEstimator(
                args.model, args.weights, args.device, backend=args.backend, input_size=args.input_size,
                precision=args.precision, contract=args.contract,
                flip=args.flip, scales=tuple(args.scales),
                detector=args.detector, detector_weights=args.detector_weights,
                batch_size=args.batch_size, nms=args.nms,
            )  # fmt: skip
    except (InputError, CheckpointError) as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.boxes is not None and est.paradigm == "top-down":  # images by image_id; frames: _frame_boxes
        try:
            est.detections = load_image_boxes(args.boxes, est.det_score_thr)
        except InputError as exc:
            raise CLIError(str(exc)) from None
    return est


def _draw_options(args: argparse.Namespace) -> object:
    try:
        return draw_options(args)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _run_images(est: object, job: Job, out: Path, args: argparse.Namespace, used: set[str]) -> None:
    from featherpose.viz import draw_poses, save_maps

    paths = [s.path for s in job.sources if s.kind == "image"]
    ids = assign_image_ids(paths)
    job.next_id = max(ids.values(), default=-1) + 1
    render = not args.no_render
    bar = tqdm(paths, desc="images", unit="img", disable=len(paths) < 2, leave=False)
    chunk = max(1, min(args.batch_size, 8))
    try:
        for start in range(0, len(paths), chunk):
            loaded: list[tuple[Path, LoadedImage]] = []
            for path in paths[start : start + chunk]:
                try:
                    loaded.append((path, open_image(path)))
                except InputError as exc:
                    job.failures.append((str(path), exc.problem))
            bar.update(len(paths[start : start + chunk]))
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
                stem = _unique_stem(path.stem, used) if render or args.save_maps else path.stem
                drawn = None
                if render:
                    shown = _in_decoded_frame(found, image)
                    drawn = draw_poses(image.pixels, shown, est.output_keypoint_set, options=args.draw)
                with _GATE.held():  # the JSONL line and the drawn image: both or neither
                    if drawn is not None:
                        cv2.imwrite(str(out / f"{stem}.jpg"), drawn)
                    job.log.add(str(path), ids[path], [p.to_coco(ids[path], file_name=str(path)) for p in found])
                    job.done += 1
                if maps is not None:
                    save_maps(image.pixels, maps[i], out / "maps", stem)
    finally:
        bar.close()


def _in_decoded_frame(poses: list, image: LoadedImage) -> list:
    """Poses in original pixels -> the decoded (possibly reduced) image's pixels, for drawing."""
    from featherpose.inference.pose import reduced_pixels

    return [reduced_pixels(p, image.scale) for p in poses] if image.reduced else poses


def _frame_boxes(est: object, source: Source, args: argparse.Namespace) -> dict | None:
    if args.boxes is None or est.paradigm != "top-down":
        return None
    return load_frame_boxes(args.boxes, source.location, est.det_score_thr)


def _run_sequence(est: object, source: Source, job: Job, out: Path, args: argparse.Namespace,
                  used: set[str], window: Window | None) -> None:  # fmt: skip
    """One video file, camera or stream: frames -> poses -> log, annotated video, window."""
    from featherpose.inference.stream import FramePoses, StreamOptions, run_frames
    from featherpose.viz import draw_poses

    # live frames one at a time (no waiting for a batch to fill); files 4 frames per network call
    options = StreamOptions(args.track, args.smooth, args.det_every, _frame_boxes(est, source, args),
                            batch=1 if source.live else 4)  # fmt: skip
    reader: LiveReader | None = None
    if source.live:
        cap = open_capture(source)
        fps = capture_fps(cap)
        reader = LiveReader(cap, args.live_policy, args.max_frames, args.duration)
        frames, total = iter(reader), args.max_frames
    else:
        info = video_info(source.path)
        fps = info.fps
        frames = file_frames(source.path, args.max_frames, args.duration)
        limits = [n for n in (info.frames, args.max_frames, args.duration and int(args.duration * fps + 0.999)) if n]
        total = min(limits, default=None)
    poses_of = FramePoses(est, options)
    dst = None if args.no_render else out / f"{_unique_stem(source.stem, used)}.mp4"
    writer = None
    bar = tqdm(total=total, desc=Path(source.stem).name, unit="frame", leave=False)
    ks = est.output_keypoint_set

    def sink(frame: Frame, poses: list) -> bool:
        nonlocal writer
        image_id = job.next_id
        job.next_id += 1
        entries = [p.to_coco(image_id, file_name=source.name, frame=frame.index) for p in poses]
        shown = dst is not None or window is not None
        drawn = draw_poses(frame.pixels, poses, ks, options=args.draw) if shown else None
        with _GATE.held():  # the JSONL line and the video frame: both or neither
            if dst is not None:
                if writer is None:
                    writer = open_writer(dst, fps, (drawn.shape[1], drawn.shape[0]))
                writer.write(drawn)
            job.log.add(source.name, image_id, entries, frame=frame.index, time=frame.time)
        bar.update(1)
        if drawn is None:
            return True
        if window is not None and not window.show(drawn):
            job.stop = True
            return False
        return True

    try:
        run_frames(frames, poses_of, sink)
    finally:
        bar.close()
        if writer is not None:
            writer.release()
        if reader is not None:
            reader.stop()
    job.done += 1
    if reader is not None:
        dropped = f", {reader.dropped} dropped (--live-policy drop)" if reader.dropped else ""
        print(f"{source.name}: {reader.delivered} frames processed{dropped}", file=sys.stderr)
    if poses_of.detections is not None:
        print(f"{source.name}: person detector ran on {poses_of.detections} frames (--det-every {args.det_every})",
              file=sys.stderr)  # fmt: skip


def _run_sequences(est: object, job: Job, out: Path, args: argparse.Namespace, used: set[str]) -> None:
    from featherpose.inference.stream import without_detections

    sequences = [s for s in job.sources if s.kind in ("video", "camera", "stream")]
    if not sequences:
        return
    if not args.no_render and not h264_available():
        job.note(f"annotated videos are written as mp4v (plays in OpenCV / VLC, not in browsers); {H264_HINT}")
    window = None
    if args.show:
        window = Window("featherpose infer")
        if not window.available:
            job.note(f"--show: no window, {window.reason}; carrying on without one")
            window = None
    try:
        with without_detections(est):
            for source in sequences:
                if job.stop:
                    break
                try:
                    _run_sequence(est, source, job, out, args, used, window)
                except InputError as exc:
                    job.failures.append((source.name, exc.problem))
    finally:
        if window is not None:
            window.close()


def _check_first(job: Job, single: bool) -> None:
    """Fail fast, before the model is built: a single input that cannot be used -> one line."""
    if not single or not job.sources:
        return
    source = job.sources[0]
    try:
        if source.kind == "image":
            image_header(source.path)
        elif source.kind == "video":
            video_info(source.path)
        else:
            open_capture(source).release()
    except InputError as exc:
        raise CLIError(str(exc)) from None


def _check_options(args: argparse.Namespace) -> None:
    if args.det_every < 1:
        raise CLIError(f"--det-every: must be >= 1 frame, got {args.det_every}")
    if args.max_frames is not None and args.max_frames < 1:
        raise CLIError(f"--max-frames: must be >= 1, got {args.max_frames}")
    if args.duration is not None and not args.duration > 0:
        raise CLIError(f"--duration: must be > 0 seconds, got {args.duration}")
    if args.boxes is not None and not Path(args.boxes).is_file():
        raise CLIError(f"{args.boxes}: file not found (--boxes)")


def _rebuild(out: str) -> int:
    try:
        path, records, poses, bad = rebuild(out)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    skipped = f" ({bad} unreadable lines skipped: a cut last line)" if bad else ""
    print(f"{records} images / frames, {poses} poses -> {path}{skipped}")
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the run ends like after Ctrl-C."""


class _SignalGate:
    """SIGINT / SIGTERM end the run (raised in the main thread), except inside :meth:`held`, where they wait
    for the block to end: one frame's JSONL line and its rendered output are written together or not at all."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending: KeyboardInterrupt | None = None

    def handler(self, signum: int, frame: object) -> None:  # noqa: ARG002 - the signal module's signature
        exc = _Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if self.depth:
            self.pending = self.pending or exc
            return
        raise exc

    @contextmanager
    def held(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending is not None:
                exc, self.pending = self.pending, None
                raise exc


_GATE = _SignalGate()


def run(args: argparse.Namespace) -> int:
    if args.rebuild:
        return _rebuild(args.rebuild)
    if not args.inputs:
        raise CLIError("give at least one SOURCE (image, folder, pattern, video, camera index, URL) or --rebuild OUT")
    _check_options(args)
    args.draw = _draw_options(args)
    found = expand(args.inputs, args.recursive)
    job = Job(found.sources, found.failures)
    single = len(args.inputs) == 1 and len(job.sources) <= 1
    if single and job.failures:
        raise CLIError(f"{job.failures[0][0]}: {job.failures[0][1]}")
    _check_first(job, single)
    for source in [s for s in job.sources if s.live and not single]:  # a camera that is not there: say so now
        try:
            open_capture(source).release()
        except InputError as exc:
            job.failures.append((source.name, exc.problem))
            job.sources.remove(source)
    out = Path(args.out)
    job.log = ResultLog(out)
    interrupted = ""
    if job.sources:
        est = _load_estimator(args)
        out.mkdir(parents=True, exist_ok=True)
        main_thread = threading.current_thread() is threading.main_thread()
        previous = ((signal.signal(signal.SIGTERM, _GATE.handler), signal.signal(signal.SIGINT, _GATE.handler))
                    if main_thread else None)  # fmt: skip
        used: set[str] = set()
        try:
            _run_images(est, job, out, args, used)
            _run_sequences(est, job, out, args, used)
        except KeyboardInterrupt as exc:
            interrupted = "SIGTERM" if isinstance(exc, _Terminated) else "Ctrl-C"
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous[0])
                signal.signal(signal.SIGINT, previous[1])
    if single and job.failures and not interrupted:
        raise CLIError(f"{job.failures[0][0]}: {job.failures[0][1]}")
    if job.log.records:
        job.log.finish()
    job.log.close()
    if interrupted:
        print(f"interrupted ({interrupted}): {job.log.records} images / frames done, kept in "
              f"{out / JSONL} and {job.log.json}", file=sys.stderr)  # fmt: skip
        return 143 if interrupted == "SIGTERM" else 130
    if args.json:
        print(json.dumps(job.predictions))
    else:
        print(f"{job.done} inputs, {job.log.records} images / frames, {len(job.predictions)} poses -> "
              f"{job.log.json}")  # fmt: skip
    if job.failures:
        print(f"skipped {len(job.failures)} inputs:", file=sys.stderr)
        for name, reason in job.failures:
            print(f"  {name}: {reason}", file=sys.stderr)
    return 0 if job.done else 2


__all__ = ["Job", "add_parser", "assign_image_ids", "run"]
