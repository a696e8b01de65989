"""``PoseEstimator``: a registered model + weights -> poses in image pixels, for any input image.

A thin facade over four parts, each in its own module (see docs/architecture.md, "Inference
parts"): :class:`~.predictor.Predictor` (the network over batches; normalisation, input size,
divisor, test scale), :class:`~.box_source.BoxSource` (top-down person boxes),
:class:`~.tta.TestTimeAugmentation` (views and the merge of their maps) and
:class:`~.pose_filter.PoseFilter` (pose score, NMS, minimum score, back to original pixels).

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

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from featherpose import pretrained
from featherpose.codecs import Codec, codec_for_model
from featherpose.deploy.runners import Runner, make_runner
from featherpose.engine.checkpoint import load_weights
from featherpose.io import MAX_PIXELS, ImageInput, LoadedImage, open_image
from featherpose.modelfile import ModelMeta
from featherpose.models import get_spec, list_models
from featherpose.preprocess import (
    Normalisation,
    check_test_scale,
    family_test_scale,
    fit_image,
    parse_input_size,
    scaled_size,
)
from featherpose.skeletons import COCO17

from .box_source import BoxSource
from .boxes import image_id_from_name, load_detections
from .maps import MapLayer, compose, inverse, pixel_scale
from .model_source import resolve_model
from .pose import Pose
from .pose_filter import NMS_METHODS, NmsOptions, PoseFilter, apply_affine
from .predictor import Predictor
from .result import Result
from .timing import StageTimer
from .tta import TestTimeAugmentation

__all__ = ["NMS_METHODS", "NmsOptions", "PoseEstimator"]


class _Part:
    """A facade attribute that lives in one of its parts (``part``), read and set through the facade
    (a frozen part is replaced by a changed copy)."""

    def __init__(self, part: str, attr: str | None = None) -> None:
        self.part, self.attr = part, attr

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = self.attr or name

    def __get__(self, obj: object, owner: type | None = None) -> object:
        return self if obj is None else getattr(getattr(obj, self.part), self.attr)  # type: ignore[arg-type]

    def __set__(self, obj: object, value: object) -> None:
        part = getattr(obj, self.part)
        if dataclasses.is_dataclass(part) and type(part).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            setattr(obj, self.part, dataclasses.replace(part, **{self.attr: value}))  # type: ignore[misc]
        else:
            setattr(part, self.attr, value)  # type: ignore[arg-type]


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
    pixel coordinates; ``predict_batch`` for many images at once; ``predict_result`` for a
    :class:`~featherpose.inference.result.Result` (names, ``to_dict`` / ``to_json``, ``plot``).
    """

    # attributes kept in the parts (see the module docstring)
    runner = _Part("predictor")
    normalise = _Part("predictor")
    input_size = _Part("predictor")
    divisor = _Part("predictor")
    test_scale = _Part("predictor")
    batch_size = _Part("predictor")
    detections = _Part("box_source")
    det_score_thr = _Part("box_source")
    flip = _Part("tta")
    scales = _Part("tta")
    min_score = _Part("pose_filter")

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
        nms: str | NmsOptions = "parallel",
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
        if isinstance(nms, NmsOptions) and nms_threshold is not None:
            raise ValueError("give the NMS threshold in NmsOptions, not as nms_threshold")
        nms_options = nms if isinstance(nms, NmsOptions) else NmsOptions(nms, nms_threshold)
        self.tta = TestTimeAugmentation(tuple(scales), flip)
        self.timer = StageTimer()
        source = resolve_model(model, weights, meta=meta, backend=backend, precision=precision, device=device,
                               input_size=input_size, codec=codec, overrides=model_overrides, contract=contract)
        meta, module, external, weights_path = source.meta, source.module, source.external, source.weights
        self.meta: ModelMeta | None = meta
        self.spec = external.spec if external else (meta.spec if meta else get_spec(str(model)))
        self.name = meta.model if module is not None or model is None else str(model)
        self.keypoint_set = meta.keypoint_set if meta else self.spec.keypoint_set
        self.output_keypoint_set = COCO17 if self.keypoint_set.name == "openpose18" else self.keypoint_set
        codec_args = meta.head_codec_args() if meta else None
        self.codec: Codec = codec_for_model(self.spec.family, self.spec.paradigm, self.keypoint_set,
                                            codec or (meta.codec if meta else None), codec_args)  # fmt: skip
        self.paradigm = self.spec.paradigm
        size = scaled_size(parse_input_size(input_size, self.spec.input_size), 1.0, self.codec.divisor)
        self.codec = self.codec.at_size(size)
        if test_scale is None:
            if external is not None and external.meta is not None and external.dynamic_spatial:
                # a featherpose export of a bottom-up model: the same rule as the torch model it came from
                test_scale = external.meta.test_scale or family_test_scale(self.spec.family)
            elif external is not None:  # fixed-size exports and external files: their own fixed or free width
                test_scale = "height" if external.width_follows_image else "fit"
            else:
                test_scale = (meta.test_scale if meta else "") or family_test_scale(self.spec.family)
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
            normalise = external.normalisation
        else:
            normalise = meta.normalisation if meta else Normalisation.for_model(net)
        runner = external.runner if external else make_runner(
            backend, net, device=device, input_size=size, precision=precision, name=self.spec.name
        )  # fmt: skip
        self.predictor = Predictor(runner, normalise, size, self.codec.divisor, check_test_scale(test_scale),
                                   batch_size, self.timer)  # fmt: skip
        self.device = device
        self.backend = backend if isinstance(backend, str) else "auto"  # the detector's backend
        self.precision = precision
        self.box_padding = box_padding
        self.color, self.max_pixels = color, max_pixels
        detections = load_detections(boxes_file, det_score_thr) if boxes_file is not None else None
        self.box_source = BoxSource(detections, self._detect, det_score_thr, kpt_thr, self.timer)
        self.pose_filter = PoseFilter(self.keypoint_set, nms_options, kpt_thr, min_score)
        self._detector = detector if isinstance(detector, PoseEstimator) else None
        self.detector_name = detector.name if isinstance(detector, PoseEstimator) else str(detector)
        self.detector_weights = detector_weights

    @property
    def kpt_thr(self) -> float:
        """The keypoint score a keypoint counts from (pose score, detector boxes)."""
        return self.pose_filter.kpt_thr

    @kpt_thr.setter
    def kpt_thr(self, value: float) -> None:
        self.pose_filter = dataclasses.replace(self.pose_filter, kpt_thr=value)
        self.box_source.kpt_thr = value

    @property
    def nms(self) -> str:
        """The top-down pose NMS method (:data:`NMS_METHODS`)."""
        return self.pose_filter.nms.method

    @property
    def nms_threshold(self) -> float | None:
        """The OKS threshold of ``parallel`` / ``oks`` NMS (None: 0.9)."""
        return self.pose_filter.nms.threshold

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

    def predict_result(
        self, image: ImageInput | LoadedImage, boxes: object = None, image_id: int | None = None
    ) -> Result:
        """Like calling the estimator, but a :class:`~featherpose.inference.result.Result`: the
        poses with their keypoint names, the image (``plot()``), ``to_dict()`` / ``to_json()``."""
        frame = open_image(image, self.color, self.max_pixels)
        if image_id is None and isinstance(image, str | Path):  # what the boxes file is keyed by
            image_id = image_id_from_name(image)
        poses = self.predict_batch([frame], None if boxes is None else [boxes], [image_id])[0]
        return Result.from_frame(poses, frame, self.output_keypoint_set)  # type: ignore[arg-type]

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
            box_sets = [self.box_source(f, im, None if boxes is None else boxes[i],
                                        None if image_ids is None else image_ids[i])
                        for i, (f, im) in enumerate(zip(frames, images, strict=True))]  # fmt: skip
            poses, maps = self._topdown(frames, box_sets, return_maps)
        else:
            poses, maps = self._bottomup(frames, return_maps)
        return (poses, maps) if return_maps else poses

    @property
    def width_follows_image(self) -> bool:
        """Bottom-up input of a fixed height, the width from each image (``test_scale="height"``)."""
        return self.predictor.width_follows_image

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

    def _detect(self, frame: LoadedImage) -> list[Pose]:
        return self.detector.predict_batch([frame])[0]  # type: ignore[return-value]

    # -- top-down ------------------------------------------------------------------------------
    def _topdown(self, frames: list[LoadedImage], box_sets: list, return_maps: bool) -> tuple[list, list]:
        counts = [len(b) for b, _ in box_sets]
        if sum(counts) == 0:
            return [[] for _ in frames], [[] for _ in frames]
        with self.timer.stage("pre"):
            matrices, crops, geometry = self.tta.topdown_crops(frames, box_sets, self.input_size, self.codec.udp,
                                                               self.box_padding)  # fmt: skip
        outputs = self.predictor(crops, geometry)
        with self.timer.stage("post"):
            heatmaps = self.codec.split(outputs)["heatmaps"]
            codec = self.codec.at_size(self.input_size, heatmaps.shape[-2:])
            merged, s_mat = self.tta.merge_topdown(codec, heatmaps, matrices)
            xy, scores = codec.decode(merged)
            for p in range(len(xy)):
                xy[p] = apply_affine(xy[p], inverse(matrices[0, p]))
            results, layers, start = [], [], 0
            for frame, (b, s), n in zip(frames, box_sets, counts, strict=True):
                sl = slice(start, start + n)
                results.append(self.pose_filter.topdown(xy[sl], scores[sl], b, s, frame))
                if return_maps:
                    layers.append([MapLayer("heatmaps", merged[p], compose(s_mat, matrices[0, p]))
                                   for p in range(sl.start, sl.stop)])  # fmt: skip
                start += n
        return results, layers

    # -- bottom-up -----------------------------------------------------------------------------
    def _bottomup_size(self, frames: list[LoadedImage]) -> tuple[int, int]:
        """The network input of a batch at scale 1 (``input_size`` for ``test_scale="fit"``)."""
        return self.predictor.image_sizes([f.pixels.shape for f in frames])[1]

    def _bottomup(self, frames: list[LoadedImage], return_maps: bool) -> tuple[list, list]:
        per_view = []
        for scale, flip in self.tta.views:
            own, size = self.predictor.image_sizes([f.pixels.shape for f in frames], scale)
            with self.timer.stage("pre"):
                fitted = [fit_image(f.pixels, o, flip, canvas=size) for f, o in zip(frames, own, strict=True)]
            geometry = [{"image": i, "box": None, "matrix": m, "flip": flip} for i, (_, m) in enumerate(fitted)]
            outputs = self.predictor(np.stack([x for x, _ in fitted]), geometry)
            with self.timer.stage("post"):
                maps = self.codec.split(outputs)
                maps = self.codec.unflip(maps) if flip else maps
            per_view.append((maps, np.stack([m for _, m in fitted]), size))
        with self.timer.stage("post"):
            merged = self.tta.merge_bottomup(per_view)
            _, base_mats, base_size = per_view[0]
            results, layers = [], []
            for i, (frame, found) in enumerate(zip(frames, self.codec.decode(merged), strict=True)):
                results.append(self.pose_filter.bottomup(found, base_mats[i], frame))
                if return_maps:
                    layers.append(self._layers(merged, i, base_mats[i], base_size))
        return results, layers

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

