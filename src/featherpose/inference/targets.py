"""The estimator with its network replaced by a codec: :class:`TargetRunner` returns, for every
network input the estimator builds, the maps the codec encodes from the ground truth seen through
that very input (crop, resize, mirror). ``codec-check`` runs :class:`PoseEstimator` with it, so the
ceiling it reports is the ceiling of the pipeline ``infer`` and ``eval`` run, not of a copy.

:func:`codec_estimator` builds such an estimator for a codec object, which also decodes (its sigma,
thresholds, matching), not a re-built one. Everything per codec goes through the codec contract
(:class:`featherpose.codecs.base.Codec`: ``prepare_keypoints``, ``render_outputs``, ``split``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from featherpose.codecs import Codec
from featherpose.data.transforms import affine_points
from featherpose.modelfile import ModelMeta
from featherpose.skeletons import KeypointSet

# registered models whose preprocessing (paradigm, normalisation) a codec's round trip borrows
STAND_INS = {"top-down": "mobileposenet", "openpose": "lw_openpose", "ae": "litepose_xs"}


class TargetRunner:
    """A stand-in network: per batch item, the codec's encoding of the ground truth of that item's
    image (top-down: of the person whose box made the crop) mapped through the item's matrix,
    left/right channels swapped for mirrored inputs, in the network's output layout.

    Call :meth:`set_images` with the ground truth of the images about to be predicted (one
    (P, K, 3) array per image, in image pixels, in the data's keypoint set, boxes in person order).
    """

    wants_geometry = True

    def __init__(self, codec: object, keypoint_set: KeypointSet) -> None:
        self.codec, self.keypoint_set = codec, keypoint_set
        self.keypoints: list[np.ndarray] = []

    def set_images(self, keypoints: Sequence[np.ndarray]) -> None:
        """Ground truth of the next ``predict_batch`` call, one (P, K, 3) array per image."""
        k = self.keypoint_set.num_keypoints
        self.keypoints = [np.asarray(kp, np.float32).reshape(-1, k, 3) for kp in keypoints]

    def _local(self, kps: np.ndarray, g: dict) -> np.ndarray:
        local = affine_points(kps, g["matrix"])
        if g["flip"]:  # a mirrored person's "left" channel shows the original right keypoint
            local = local[..., self.keypoint_set.flip_index, :]
        local[local[..., 2] <= 0, :2] = 0.0
        return local

    def __call__(self, batch: np.ndarray, geometry: Sequence[dict] | None = None) -> list[np.ndarray]:
        if geometry is None:
            raise ValueError("TargetRunner needs the estimator's geometry (PoseEstimator passes it)")
        codec: Codec = self.codec.at_size(tuple(batch.shape[-2:]))  # type: ignore[attr-defined]  # any test scale
        outs: list[list[np.ndarray]] = []
        for g in geometry:
            kps = self.keypoints[g["image"]]
            if g["box"] is not None:  # top-down: the person whose box made the crop
                kps = kps[g["box"]]
            local = codec.prepare_keypoints(self._local(kps, g), self.keypoint_set)
            local[local[..., 2] <= 0, :2] = 0.0
            outs.append(codec.render_outputs(local))
        return [np.stack([o[j] for o in outs]).astype(np.float32) for j in range(len(outs[0]))]


def stand_in(codec: Codec) -> str:
    """The registered model whose preprocessing the round trip of ``codec`` borrows: by paradigm,
    and for bottom-up by keypoint set (OpenPose-18 maps: an OpenPose model), as ``codec_for_model``."""
    if codec.paradigm == "top-down":
        return STAND_INS["top-down"]
    ks = codec.keypoint_set
    return STAND_INS["openpose"] if ks is not None and ks.name == "openpose18" else STAND_INS["ae"]


def codec_estimator(codec: object, keypoint_set: KeypointSet, flip: bool = False, **options: object) -> object:
    """A :class:`~featherpose.inference.PoseEstimator` whose "network" is ``codec`` encoding the ground
    truth (a :class:`TargetRunner`, as ``est.runner``) and whose decoder is ``codec`` itself; the
    rest (preprocessing, flip merge, pose score, NMS, mapping back) is the estimator's own."""
    from .estimator import PoseEstimator

    if not isinstance(codec, Codec):
        raise TypeError(f"no round trip for {type(codec).__name__} (not a featherpose codec)")
    codec.adopt_keypoint_set(keypoint_set)
    kset = codec.keypoint_set or keypoint_set
    size = tuple(codec.input_size)
    meta = ModelMeta.for_model(stand_in(codec), input_size=size, keypoint_set=kset)  # type: ignore[arg-type]
    options.setdefault("test_scale", "fit")  # the codec's own fixed input size (what the runner renders at)
    est = PoseEstimator.from_module(None, meta, flip=flip, backend=TargetRunner(codec, keypoint_set), **options)
    est.codec = codec
    est.divisor = codec.divisor
    if tuple(est.input_size) != size:
        est.input_size = size  # the codec's own size (the target runner has no stride constraint)
    return est
