"""``PoseEstimator``: a registered model + weights -> poses in image pixels, for any input image.

Pipeline (each stage timed in ``estimator.timer``: pre / net / post, plus detect):

* top-down: person boxes (``boxes=``, a COCO detection-results file, or the poses of a bottom-up
  ``detector`` model) -> one affine crop per box and view (flip / scale) -> normalise -> network
  (all crops of all images batched) -> views merged in the base crop's heatmap frame -> codec
  decode -> inverse affine -> pose score -> pose NMS (parallel OKS-NMS by default);
* bottom-up: resize keeping the aspect ratio at the test scale (``test_scale``: the long side into
  the input, the short side or the height to the input size), pad -> network -> views merged ->
  codec decode (PAF or tag grouping) -> inverse affine (OpenPose-18 -> COCO-17).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from featherpose import pretrained
from featherpose.codecs import Codec, codec_for_model
from featherpose.deploy.runners import Runner, make_runner
from featherpose.engine.checkpoint import is_weights_file, load_weights, require_meta, resolve_weights, weights_meta
from featherpose.io import MAX_PIXELS, ImageInput, InputError, LoadedImage, open_image
from featherpose.modelfile import ModelMeta
from featherpose.models import get_spec, list_models
from featherpose.nms import oks_nms, parallel_oks_nms, pose_score, soft_oks_nms
from featherpose.preprocess import (
    Normalisation,
    check_test_scale,
    crop_matrices,
    family_test_scale,
    fit_image,
    parse_input_size,
    scaled_size,
    test_scale_size,
    warp_crops,
)
from featherpose.skeletons import COCO17, openpose_to_coco

from .boxes import as_boxes, image_id_from_name, load_detections
from .external import is_model_file, load_external
from .maps import MapLayer, compose, inverse, pixel_scale, warp_maps
from .pose import Pose, box_from_keypoints
from .timing import StageTimer

NMS_METHODS = ("parallel", "oks", "soft", "none")


def _apply(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    return points @ np.asarray(m)[:, :2].T + np.asarray(m)[:, 2]


class PoseEstimator:
    """Multi-person 2D pose estimation with a registered model.

    ``model``: a self-describing weights file (``runs/x/best.safetensors``, or a training directory
    with ``last.safetensors``: the file says which network, keypoint set, codec, input size and
    normalisation), a name from :func:`featherpose.list_models`, or an ``.onnx`` / OpenVINO ``.xml``
    file (exported by ``featherpose export``, or external with the OpenPose output contract,
    described by ``contract``; see :mod:`featherpose.inference.external`). ``weights`` (with a
    name): a safetensors file (or a training directory), or a shipped tag (``"lspet"``,
    :mod:`featherpose.pretrained`); None uses the model's shipped weights, and when it has none
    builds random weights and warns. A weights file with metadata brings its own keypoint set,
    codec and input size; without, the zoo entry's are used.
    ``backend``: ``"auto"`` (OpenVINO when installed, else torch), ``"torch"``, ``"onnxruntime"``,
    ``"openvino"`` or any name in ``featherpose.inference.RUNNERS`` (or a ready runner object);
    ``precision``: ``"auto"``, ``"fp32"``, ``"bf16"`` (OpenVINO) or ``"int8"`` (quantised files);
    see :mod:`featherpose.inference.backends`. ``input_size``: H, "HxW" or (H, W) (rounded up to
    the network's stride; default: the weights file's, else the zoo entry's).
    ``flip``: flip test; ``scales``: multi-scale test (box or image scale factors, merged in the
    first scale's frame). ``codec``: top-down heatmap decoder (``heatmap``, ``heatmap-dark``,
    ``udp``, ``heatmap-argmax``; default: the weights file's codec, else ``heatmap``). ``nms``:
    ``parallel`` (default), ``oks``, ``soft`` or ``none`` (top-down). ``detector``: bottom-up model
    (a name, a weights file, or a ready bottom-up ``PoseEstimator``; default
    :data:`featherpose.pretrained.DEFAULT_DETECTOR` with its shipped weights) whose poses give the
    person boxes when a top-down model gets none (``detector_weights``: its weights).
    ``boxes_file``: a COCO detection-results file.
    ``test_scale`` (bottom-up): ``"fit"`` (the long side into the input size, as training warps),
    ``"short_side"`` (short side = input size, long side following: LitePose / HigherHRNet) or
    ``"height"`` (height = input height, width following: Lightweight OpenPose); default: the
    weights file's ``test_scale``, else the family's (:data:`featherpose.preprocess.FAMILY_TEST_SCALE`);
    external files: ``"height"`` when given a height only, else ``"fit"``.
    ``color``: channel order of numpy inputs (``"bgr"``, as cv2.imread gives, or ``"rgb"``).

    Call it on one image (path, numpy array or PIL image) -> list of :class:`Pose` in the image's
    pixel coordinates; ``predict_batch`` for many images at once.
    """

    def __init__(
        self,
        model: str | Path | nn.Module | None,
        weights: str | Path | None = None,
        device: str = "cpu",
        backend: str | Runner = "auto",
        precision: str = "auto",
        contract: object = None,
        input_size: int | str | Sequence[int] | None = None,
        flip: bool = False,
        scales: Sequence[float] = (1.0,),
        codec: str | None = None,
        nms: str = "parallel",
        nms_threshold: float | None = None,
        kpt_thr: float = 0.1,
        min_score: float = 0.0,
        box_padding: float = 1.25,
        det_score_thr: float = 0.0,
        boxes_file: str | Path | None = None,
        detector: str | Path | PoseEstimator = pretrained.DEFAULT_DETECTOR,
        detector_weights: str | Path | None = None,
        batch_size: int = 16,
        color: str = "bgr",
        max_pixels: int = MAX_PIXELS,
        test_scale: str | None = None,
        model_overrides: dict | None = None,
        meta: ModelMeta | None = None,
    ) -> None:
        if nms not in NMS_METHODS:
            raise ValueError(f"nms must be one of {NMS_METHODS}, got {nms!r}")
        if not scales or min(scales) <= 0:
            raise ValueError(f"scales must be positive numbers, got {scales!r}")
        external, weights_path = None, None
        module: nn.Module | None = None
        if meta is not None and not isinstance(model, str | Path):  # an in-memory network (from_module)
            if weights is not None:
                raise ValueError("an in-memory network holds its weights; do not pass weights")
            if model is None and isinstance(backend, str):
                raise ValueError("without a network, backend must be a ready runner object")
            module = model
        elif model is None or isinstance(model, nn.Module):
            raise ValueError("an in-memory network needs its ModelMeta (use PoseEstimator.from_module)")
        elif is_model_file(model):
            if weights is not None:
                raise ValueError(f"{model}: a model file holds its weights; do not pass weights")
            external = load_external(model, backend, precision, device, input_size, contract)  # type: ignore[arg-type]
            meta = external.meta
        elif is_weights_file(model) and str(model) not in list_models():
            if weights is not None:
                raise ValueError(f"{model}: a weights file holds its weights; do not pass weights")
            weights_path = resolve_weights(model)
            meta = require_meta(weights_path)
        else:
            get_spec(str(model))  # an unknown name fails here, before any file is read
            found = pretrained.resolve(str(model), weights)
            weights_path = resolve_weights(found) if found is not None else None
            meta = weights_meta(weights_path, str(model)) if weights_path is not None else None
        self.meta: ModelMeta | None = meta
        self.spec = external.spec if external else (meta.spec if meta else get_spec(str(model)))
        self.name = meta.model if module is not None or model is None else str(model)
        self.keypoint_set = meta.keypoint_set if meta else self.spec.keypoint_set
        self.output_keypoint_set = COCO17 if self.keypoint_set.name == "openpose18" else self.keypoint_set
        codec_args = meta.head_codec_args() if meta else None
        self.codec: Codec = codec_for_model(self.spec.family, self.spec.paradigm, self.keypoint_set,
                                            codec or (meta.codec if meta else None), codec_args)  # fmt: skip
        self.paradigm = self.spec.paradigm
        divisor = self.codec.divisor
        self.divisor = divisor
        self.input_size = scaled_size(parse_input_size(input_size, self.spec.input_size), 1.0, divisor)
        self.codec = self.codec.at_size(self.input_size)
        if test_scale is None:
            if external is not None:  # exported / external files: their own fixed or free width
                test_scale = "height" if external.width_follows_image else "fit"
            else:
                test_scale = (meta.test_scale if meta else "") or family_test_scale(self.spec.family)
        self.test_scale = check_test_scale(test_scale)
        net = None
        if module is not None or model is None:
            net = module
        elif external is None:
            overrides = model_overrides or {}
            net = meta.build(**overrides) if meta else self.spec.build(**overrides)
            if weights_path is not None:
                load_weights(net, weights_path)
            elif isinstance(backend, str):
                warnings.warn(f"{model}: no weights given, the network has random weights (poses are meaningless)",
                              stacklevel=2)  # fmt: skip
        self.weights = weights_path
        self.model = net
        if external is not None:
            self.normalise = external.normalisation
        else:
            self.normalise = meta.normalisation if meta else Normalisation.for_model(net)
        self.runner = external.runner if external else make_runner(
            backend, net, device=device, input_size=self.input_size, precision=precision, name=self.spec.name
        )  # fmt: skip
        self.device = device
        self.backend = backend if isinstance(backend, str) else "auto"  # the detector's backend
        self.precision = precision
        self.flip, self.scales = bool(flip), tuple(float(s) for s in scales)
        self.nms, self.nms_threshold = nms, nms_threshold
        self.kpt_thr, self.min_score = kpt_thr, min_score
        self.box_padding, self.det_score_thr = box_padding, det_score_thr
        self.batch_size = max(1, int(batch_size))
        self.color, self.max_pixels = color, max_pixels
        self.detections = load_detections(boxes_file, det_score_thr) if boxes_file is not None else None
        self._detector = detector if isinstance(detector, PoseEstimator) else None
        self.detector_name = detector.name if isinstance(detector, PoseEstimator) else str(detector)
        self.detector_weights = detector_weights
        self.timer = StageTimer()

    @classmethod
    def from_module(
        cls,
        net: nn.Module | None,
        meta: ModelMeta,
        codec: str | None = None,
        input_size: int | str | Sequence[int] | None = None,
        flip: bool = False,
        device: str = "cpu",
        backend: str | Runner = "torch",
        **options: object,
    ) -> PoseEstimator:
        """An estimator around an in-memory network (a model being trained, or one just loaded),
        described by ``meta`` (:func:`featherpose.modelfile.training_meta` for a training run, or a
        weights file's own metadata): the same preprocessing, flip test, decoding, pose score and
        NMS as for a file. ``net`` may be None when ``backend`` is a ready runner (e.g. one that
        returns encoded ground truth). ``options``: any other :class:`PoseEstimator` argument."""
        return cls(net, codec=codec, input_size=input_size, flip=flip, device=device, backend=backend,
                   meta=meta, **options)  # type: ignore[arg-type]  # fmt: skip

    # -- public API ----------------------------------------------------------------------------
    def __call__(
        self, image: ImageInput | LoadedImage, boxes: object = None, image_id: int | None = None
    ) -> list[Pose]:
        """Poses in one image (see :meth:`predict_batch`)."""
        return self.predict_batch([image], None if boxes is None else [boxes], [image_id])[0]

    def predict_batch(
        self,
        images: Sequence[ImageInput | LoadedImage],
        boxes: Sequence[object] | None = None,
        image_ids: Sequence[int | None] | None = None,
        return_maps: bool = False,
    ) -> list[list[Pose]] | tuple[list[list[Pose]], list[list[MapLayer]]]:
        """Poses for every image (a list per image). Top-down: ``boxes[i]`` ((M, 4) x, y, w, h, or
        (M, 5) with scores, in image pixels) for image ``i``; without it the boxes come from
        ``boxes_file`` (matched by ``image_ids[i]`` or the COCO-style file name), else from the
        detector. ``return_maps=True`` also returns the raw output maps per image (for
        :func:`featherpose.viz.save_maps`), in the frame of the decoded (possibly reduced) pixels."""
        images = list(images)
        self.timer.start_call(len(images))
        with self.timer.stage("pre"):
            frames = [open_image(im, self.color, self.max_pixels) for im in images]
        if self.paradigm == "top-down":
            box_sets = [self._boxes_for(frames[i], images[i], i, boxes, image_ids) for i in range(len(frames))]
            poses, maps = self._topdown(frames, box_sets, return_maps)
        else:
            poses, maps = self._bottomup(frames, return_maps)
        return (poses, maps) if return_maps else poses

    @property
    def detector(self) -> PoseEstimator:
        """The bottom-up model that finds person boxes for a top-down model (built on first use)."""
        if self._detector is None:
            name = self.detector_name
            registered = name in list_models()
            if registered and get_spec(name).paradigm != "bottom-up":
                raise ValueError(f"detector {name!r} is not a bottom-up model")
            if registered and pretrained.resolve(name, self.detector_weights) is None:
                warnings.warn(f"detector {name}: no weights given, the person boxes are meaningless",
                              stacklevel=3)  # fmt: skip
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._detector = PoseEstimator(self.detector_name, self.detector_weights, self.device,
                                               backend=self.backend, precision=self.precision,
                                               color=self.color, max_pixels=self.max_pixels)  # fmt: skip
        if self._detector.paradigm != "bottom-up":
            raise ValueError(f"detector {self._detector.name!r} is not a bottom-up model")
        return self._detector

    # -- boxes ---------------------------------------------------------------------------------
    def _boxes_for(
        self, frame: LoadedImage, image: object, i: int, boxes: Sequence[object] | None, ids: Sequence | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if boxes is not None and boxes[i] is not None:
            b, s = as_boxes(boxes[i], frame.source)
        elif self.detections is not None:
            image_id = ids[i] if ids is not None and ids[i] is not None else None
            if image_id is None and isinstance(image, str | Path):
                image_id = image_id_from_name(image)
            if image_id is None:
                raise InputError(frame.source, "no image id to look its boxes up in the boxes file (pass image_id)")
            b, s = self.detections.get(int(image_id), (np.zeros((0, 4)), np.zeros(0)))
        else:
            with self.timer.stage("detect"):
                b, s = self._detect(frame)
            return b, s  # already in the decoded frame
        fx, fy = frame.scale
        if frame.reduced and len(b):  # original pixels -> decoded (reduced) pixels
            b = b.copy()
            b[:, 0], b[:, 1] = (b[:, 0] + 0.5) / fx - 0.5, (b[:, 1] + 0.5) / fy - 0.5
            b[:, 2], b[:, 3] = b[:, 2] / fx, b[:, 3] / fy
        return b, s

    def _detect(self, frame: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes from the detector's poses (keypoint extent grown by 10% a side); the whole
        image when it finds nobody."""
        decoded = LoadedImage(frame.pixels, frame.source)  # stay in the decoded frame
        found = self.detector.predict_batch([decoded])[0]
        found = [p for p in found if p.score > self.det_score_thr]
        if not found:
            h, w = frame.pixels.shape[:2]
            return np.array([[0.0, 0.0, float(w), float(h)]]), np.ones(1)
        boxes = np.array([box_from_keypoints(p.keypoints, self.kpt_thr, pad=0.1) for p in found])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 1.0)
        return boxes, np.array([p.score for p in found])

    # -- shared --------------------------------------------------------------------------------
    def _views(self) -> list[tuple[float, bool]]:
        flips = (False, True) if self.flip else (False,)
        return [(s, f) for f in flips for s in self.scales]

    def _run(self, batch: np.ndarray, geometry: Sequence[dict] | None = None) -> list[np.ndarray]:
        """The network over a batch in chunks of ``batch_size``; outputs concatenated. A runner with
        ``wants_geometry = True`` (e.g. :class:`featherpose.inference.targets.TargetRunner`) also gets,
        per batch item, ``{"image": i, "box": j | None, "matrix": image-to-input 2x3, "flip": bool}``."""
        step = self.batch_size
        with self.timer.stage("net"):
            if geometry is not None and getattr(self.runner, "wants_geometry", False):
                parts = [self.runner(batch[i : i + step], geometry[i : i + step])  # type: ignore[call-arg]
                         for i in range(0, len(batch), step)]  # fmt: skip
            else:
                parts = [self.runner(batch[i : i + step]) for i in range(0, len(batch), step)]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]

    @staticmethod
    def _to_original(kps: np.ndarray, boxes: np.ndarray, frame: LoadedImage) -> None:
        """In place: decoded-frame keypoints / boxes -> original image pixels."""
        if not frame.reduced:
            return
        fx, fy = frame.scale
        kps[..., 0], kps[..., 1] = (kps[..., 0] + 0.5) * fx - 0.5, (kps[..., 1] + 0.5) * fy - 0.5
        boxes[:, 0], boxes[:, 1] = (boxes[:, 0] + 0.5) * fx - 0.5, (boxes[:, 1] + 0.5) * fy - 0.5
        boxes[:, 2], boxes[:, 3] = boxes[:, 2] * fx, boxes[:, 3] * fy

    # -- top-down ------------------------------------------------------------------------------
    def _topdown(self, frames: list[LoadedImage], box_sets: list, return_maps: bool) -> tuple[list, list]:
        views = self._views()
        udp = self.codec.udp
        counts = [len(b) for b, _ in box_sets]
        total = sum(counts)
        if total == 0:
            return [[] for _ in frames], [[] for _ in frames]
        with self.timer.stage("pre"):
            mats, crops = [], []
            for scale, flip in views:
                for frame, (b, _) in zip(frames, box_sets, strict=True):
                    if len(b):
                        m = crop_matrices(b, self.input_size, scale, flip, udp, self.box_padding)
                        mats.append(m)
                        crops.append(warp_crops(frame.pixels, m, self.input_size))
            matrices = np.concatenate(mats).reshape(len(views), total, 2, 3)
            batch = self.normalise(np.concatenate(crops))
            geometry = [{"image": i, "box": j, "matrix": matrices[v, start + j], "flip": flip}
                        for v, (_, flip) in enumerate(views)
                        for i, start in enumerate(np.cumsum([0, *counts[:-1]])) for j in range(counts[i])]  # fmt: skip
        outputs = self._run(batch, geometry)
        with self.timer.stage("post"):
            heatmaps = self.codec.split(outputs)["heatmaps"]
            h, w = heatmaps.shape[-2:]
            heatmaps = heatmaps.reshape(len(views), total, -1, h, w)
            codec = self.codec.at_size(self.input_size, (h, w))
            sx, sy = codec.to_heatmap(np.ones(2, np.float32))
            s_mat = np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]])
            merged = heatmaps[0].copy()
            for v in range(1, len(views)):
                hv = heatmaps[v]
                if views[v][1]:
                    hv = codec.unflip({"heatmaps": hv})["heatmaps"]
                for p in range(total):
                    to_v = compose(s_mat, matrices[v, p], inverse(matrices[0, p]), inverse(s_mat))
                    merged[p] += warp_maps(hv[p], to_v, (h, w))
            merged /= len(views)
            xy, scores = codec.decode(merged)
            for p in range(total):
                xy[p] = _apply(xy[p], inverse(matrices[0, p]))
            results, layers, start = [], [], 0
            for frame, (b, s), n in zip(frames, box_sets, counts, strict=True):
                sl = slice(start, start + n)
                results.append(self._score_and_suppress(xy[sl], scores[sl], b, s, frame))
                if return_maps:
                    layers.append([MapLayer("heatmaps", merged[p], compose(s_mat, matrices[0, p]))
                                   for p in range(sl.start, sl.stop)])  # fmt: skip
                start += n
        return results, layers

    def _score_and_suppress(
        self, xy: np.ndarray, scores: np.ndarray, boxes: np.ndarray, box_scores: np.ndarray, frame: LoadedImage
    ) -> list[Pose]:
        kps = np.concatenate([xy, scores[..., None]], -1).astype(np.float32)
        areas = boxes[:, 2] * boxes[:, 3]
        sigmas = self.keypoint_set.sigmas
        method = self.nms if sigmas is not None else "none"
        if method == "parallel":
            oks_thr = self.nms_threshold or 0.9
            keep, conf = parallel_oks_nms(
                kps, box_scores, areas, np.asarray(sigmas), self.kpt_thr, self.min_score, oks_thr=oks_thr
            )
        else:
            conf_all = pose_score(scores, box_scores, self.kpt_thr)
            if method == "oks":
                keep = oks_nms(kps, conf_all, areas, np.asarray(sigmas), self.nms_threshold or 0.9)
                conf = conf_all[keep]
            elif method == "soft":
                keep, conf = soft_oks_nms(kps, conf_all, areas, np.asarray(sigmas), score_thr=self.min_score)
            else:
                keep = np.argsort(-conf_all, kind="stable")
                conf = conf_all[keep]
            sel = conf >= self.min_score
            keep, conf = keep[sel], conf[sel]
        kps, boxes = kps[keep], boxes[keep].copy()
        self._to_original(kps, boxes, frame)
        return [Pose(kps[i], float(conf[i]), tuple(float(v) for v in boxes[i])) for i in range(len(keep))]

    # -- bottom-up -----------------------------------------------------------------------------
    @property
    def width_follows_image(self) -> bool:
        """Bottom-up input of a fixed height, the width from each image (``test_scale="height"``)."""
        return self.test_scale == "height"

    def _bottomup_sizes(self, frames: list[LoadedImage], scale: float = 1.0) -> tuple[list, tuple[int, int]]:
        """Per image, the input it is scaled into at ``test_scale`` (x ``scale``, multi-scale test),
        and the batch's common size (their maximum; padding right / bottom)."""
        base = scaled_size(self.input_size, scale, self.divisor)
        own = [test_scale_size(f.pixels.shape[:2], base, self.test_scale, self.divisor) for f in frames]
        return own, (max(s[0] for s in own), max(s[1] for s in own))

    def _bottomup_size(self, frames: list[LoadedImage]) -> tuple[int, int]:
        """The network input of a batch at scale 1 (``input_size`` for ``test_scale="fit"``)."""
        return self._bottomup_sizes(frames)[1]

    def _bottomup(self, frames: list[LoadedImage], return_maps: bool) -> tuple[list, list]:
        views = self._views()
        per_view: list[tuple[dict[str, np.ndarray], np.ndarray, tuple[int, int]]] = []
        for scale, flip in views:
            own, size = self._bottomup_sizes(frames, scale)
            with self.timer.stage("pre"):
                fitted = [fit_image(f.pixels, o, flip, canvas=size) for f, o in zip(frames, own, strict=True)]
                batch = self.normalise(np.stack([x for x, _ in fitted]))
            geometry = [{"image": i, "box": None, "matrix": m, "flip": flip} for i, (_, m) in enumerate(fitted)]
            outputs = self._run(batch, geometry)
            with self.timer.stage("post"):
                maps = self.codec.split(outputs)
                if flip:
                    maps = self.codec.unflip(maps)
            per_view.append((maps, np.stack([m for _, m in fitted]), size))
        with self.timer.stage("post"):
            base, base_mats, base_size = per_view[0]
            merged = {k: v.copy() for k, v in base.items()}
            for maps, mats, size in per_view[1:]:
                for key, arr in maps.items():
                    h, w = base[key].shape[-2:]
                    t0 = pixel_scale(w / base_size[1], h / base_size[0])
                    tv = pixel_scale(arr.shape[-1] / size[1], arr.shape[-2] / size[0])
                    for i in range(len(frames)):
                        to_v = compose(tv, mats[i], inverse(base_mats[i]), inverse(t0))
                        merged[key][i] += warp_maps(arr[i], to_v, (h, w))
            for key in merged:
                merged[key] /= len(views)
            decoded = self.codec.decode(merged)
            results, layers = [], []
            for i, (frame, mpp) in enumerate(zip(frames, decoded, strict=True)):
                results.append(self._bottomup_poses(mpp, base_mats[i], frame))
                if return_maps:
                    layers.append(self._layers(merged, i, base_mats[i], base_size))
        return results, layers

    def _bottomup_poses(self, mpp: object, matrix: np.ndarray, frame: LoadedImage) -> list[Pose]:
        kps = np.concatenate([mpp.keypoints, mpp.keypoint_scores[..., None]], -1).astype(np.float32)
        if len(kps):
            kps[..., :2] = _apply(kps[..., :2], inverse(matrix))
            kps[kps[..., 2] <= 0, :2] = 0.0
        if self.keypoint_set.name == "openpose18":
            kps = openpose_to_coco(kps).astype(np.float32)
        boxes = np.array([box_from_keypoints(k, 0.0) for k in kps]).reshape(-1, 4)
        self._to_original(kps, boxes, frame)
        order = np.argsort(-mpp.scores, kind="stable")
        return [Pose(kps[i], float(mpp.scores[i]), tuple(float(v) for v in boxes[i]))
                for i in order if mpp.scores[i] >= self.min_score]  # fmt: skip

    def _layers(self, merged: dict[str, np.ndarray], i: int, matrix: np.ndarray, size: tuple[int, int]) -> list:
        """The merged maps of image ``i`` as :class:`MapLayer` (background heatmap dropped)."""
        k = self.keypoint_set.num_keypoints
        out = []
        for key, arr in merged.items():
            m = compose(pixel_scale(arr.shape[-1] / size[1], arr.shape[-2] / size[0]), matrix)
            if key == "tags":
                weights = merged["heatmaps"][i] if "heatmaps" in merged else None
                out.append(MapLayer("tags", arr[i], m, weights))
            elif key == "pafs":
                out.append(MapLayer("pafs", arr[i], m))
            elif key.startswith("heatmaps"):  # all resolutions
                out.append(MapLayer("heatmaps", arr[i][:k], m))
        return out
