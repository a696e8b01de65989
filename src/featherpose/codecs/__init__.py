"""Target codecs: encode annotations into training targets, decode network outputs into keypoints.

``CODECS`` maps a variant name to a factory; ``get_codec(name, **overrides)`` builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from featherpose.codecs.associative_embedding import AssociativeEmbeddingCodec
from featherpose.codecs.common import MultiPersonPoses
from featherpose.codecs.heatmap import HeatmapCodec
from featherpose.codecs.openpose import OpenPoseCodec

CODECS: dict[str, Callable[..., object]] = {
    # top-down Gaussian heatmaps, 256x192 -> 64x48, sigma 2
    "heatmap-argmax": partial(HeatmapCodec, refine="none"),
    "heatmap": partial(HeatmapCodec, refine="quarter"),
    "heatmap-dark": partial(HeatmapCodec, refine="dark", unbiased=True),
    "udp": partial(HeatmapCodec, refine="dark", udp=True),
    # bottom-up: OpenPose heatmaps + PAFs at stride 8, 368 input
    "openpose": partial(OpenPoseCodec, matching="greedy"),
    "openpose-hungarian": partial(OpenPoseCodec, matching="hungarian"),
    # bottom-up: associative embedding; LitePose 1/4 + 1/2 heatmaps, tags at 1/4
    "ae": partial(AssociativeEmbeddingCodec, strides=(4,)),
    "ae-multires": partial(AssociativeEmbeddingCodec, strides=(4, 2)),
}


def get_codec(name: str, **overrides: object) -> HeatmapCodec | OpenPoseCodec | AssociativeEmbeddingCodec:
    """Build the codec variant ``name`` (see ``CODECS``), overriding any constructor argument."""
    try:
        factory = CODECS[name]
    except KeyError:
        raise ValueError(f"unknown codec {name!r}; known: {', '.join(CODECS)}") from None
    return factory(**overrides)


__all__ = ["CODECS", "AssociativeEmbeddingCodec", "HeatmapCodec", "MultiPersonPoses", "OpenPoseCodec", "get_codec"]
