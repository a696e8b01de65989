"""Target codecs: encode annotations into training targets, decode network outputs into keypoints.

``CODECS`` maps a variant name to a factory; ``get_codec(name, **overrides)`` builds one. Every
codec implements :class:`~featherpose.codecs.base.Codec` (the contract callers use instead of
branching on codec classes); :func:`codec_for_model` picks the codec that decodes a model's outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from featherpose.codecs.associative_embedding import AssociativeEmbeddingCodec
from featherpose.codecs.base import Codec
from featherpose.codecs.common import MultiPersonPoses
from featherpose.codecs.heatmap import HeatmapCodec
from featherpose.codecs.openpose import OpenPoseCodec
from featherpose.skeletons import KeypointSet

CODECS: dict[str, Callable[..., object]] = {
    # top-down Gaussian heatmaps, 256x192 -> 64x48, sigma 2
    "heatmap-argmax": partial(HeatmapCodec, refine="none"),
    "heatmap": partial(HeatmapCodec, refine="quarter"),
    "heatmap-dark": partial(HeatmapCodec, refine="dark", unbiased=True),
    "udp": partial(HeatmapCodec, refine="dark", udp=True),
    # bottom-up: OpenPose heatmaps + PAFs at stride 8, 368 input
    "openpose": partial(OpenPoseCodec),  # matching="global" (the class default); "greedy" via codec args
    "openpose-hungarian": partial(OpenPoseCodec, matching="hungarian"),
    # bottom-up: associative embedding; LitePose 1/4 + 1/2 heatmaps, tags at 1/4
    "ae": partial(AssociativeEmbeddingCodec, strides=(4,)),
    "ae-multires": partial(AssociativeEmbeddingCodec, strides=(4, 2)),
}


def get_codec(name: str, **overrides: object) -> Codec:
    """Build the codec variant ``name`` (see ``CODECS``), overriding any constructor argument."""
    try:
        factory = CODECS[name]
    except KeyError:
        raise ValueError(f"unknown codec {name!r}; known: {', '.join(CODECS)}") from None
    codec = factory(**overrides)
    codec.name = name
    return codec


def codec_for_model(
    family: str,
    paradigm: str,
    keypoint_set: KeypointSet,
    codec: str | None = None,
    codec_args: dict | None = None,
    input_size: tuple[int, int] | None = None,
) -> Codec:
    """The codec that decodes a model's outputs, from its family / paradigm / keypoint set.

    ``codec``: the variant name (a weights file's own, or the user's choice): top-down models take
    it as is (default ``heatmap``); OpenPose models (family ``openpose`` or the OpenPose-18 set) use
    it only to pick Hungarian matching; other bottom-up models decode with associative embedding.
    ``codec_args``: extra constructor arguments (a weights file's, without the ones fixed here)."""
    args: dict = dict(codec_args or {})
    if input_size is not None:
        args["input_size"] = tuple(input_size)
    if paradigm == "top-down":
        name = codec or "heatmap"
    elif family == "openpose" or keypoint_set.name == "openpose18":
        name = "openpose-hungarian" if codec == "openpose-hungarian" else "openpose"
    else:
        name = codec if codec in ("ae", "ae-multires") else "ae-multires"
    return get_codec(name, keypoint_set=keypoint_set, **args)


__all__ = [
    "CODECS",
    "AssociativeEmbeddingCodec",
    "Codec",
    "HeatmapCodec",
    "MultiPersonPoses",
    "OpenPoseCodec",
    "codec_for_model",
    "get_codec",
]
