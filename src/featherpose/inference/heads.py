"""What the estimator needs to know about a model's outputs: which array is which map, how maps
of a mirrored input map back (channel swaps), and which codec decodes them.

* :class:`HeatmapHead` — top-down models: one (N, K, h, w) heatmap tensor.
* :class:`OpenPoseHead` — ``lw_openpose`` / ``ghostpose``: [heatmaps_0, pafs_0, ..., heatmaps_n, pafs_n];
  the last pair is used (K + 1 heatmaps with background, 2 PAF channels per limb).
* :class:`AssociativeEmbeddingHead` — LitePose family: (N, 2K, H/4, W/4) heatmaps + tags and
  (N, K, H/2, W/2) heatmaps.
"""

from __future__ import annotations

import numpy as np

from featherpose.codecs import AssociativeEmbeddingCodec, MultiPersonPoses, OpenPoseCodec, get_codec
from featherpose.codecs.openpose import paf_channels
from featherpose.skeletons import KeypointSet

from .maps import mirror_pafs


class HeatmapHead:
    """Top-down Gaussian heatmaps; decoding with a :class:`~featherpose.codecs.HeatmapCodec` variant."""

    paradigm = "top-down"

    def __init__(self, keypoint_set: KeypointSet, codec: str = "heatmap", **codec_options: object) -> None:
        self.keypoint_set, self.codec_name, self.codec_options = keypoint_set, codec, codec_options

    def split(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        k = self.keypoint_set.num_keypoints
        maps = next((o for o in outputs if o.ndim == 4 and o.shape[1] == k), None)
        if maps is None:
            shapes = [o.shape for o in outputs]
            raise ValueError(f"expected an (N, {k}, h, w) heatmap output, got {shapes}")
        return {"heatmaps": maps}

    def unflip_channels(self, maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"heatmaps": maps["heatmaps"][:, self.keypoint_set.flip_index]}

    def codec(self, input_size: tuple[int, int], heatmap_size: tuple[int, int]):  # noqa: ANN201
        return get_codec(self.codec_name, **{**self.codec_options, "input_size": input_size,
                                             "heatmap_size": heatmap_size})  # fmt: skip


class OpenPoseHead:
    """Heatmaps (K + 1, background last) and PAFs at stride 8; decoded by OpenPoseCodec."""

    paradigm = "bottom-up"
    divisor = 8

    def __init__(self, keypoint_set: KeypointSet, matching: str = "greedy", **codec_options: object) -> None:
        self.keypoint_set, self.matching, self.codec_options = keypoint_set, matching, codec_options

    def split(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        if len(outputs) < 2:
            raise ValueError(f"expected [heatmaps, pafs, ...] outputs, got {len(outputs)} arrays")
        return {"heatmaps": outputs[-2], "pafs": outputs[-1]}

    def unflip_channels(self, maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ks = self.keypoint_set
        hm = maps["heatmaps"]
        perm = list(ks.flip_index) + list(range(ks.num_keypoints, hm.shape[1]))  # background stays
        channels = paf_channels(ks)
        pafs = np.stack([mirror_pafs(p, ks.limbs, ks.flip_index, channels) for p in maps["pafs"]])
        return {"heatmaps": hm[:, perm], "pafs": pafs}

    def decode(self, maps: dict[str, np.ndarray], input_size: tuple[int, int]) -> list[MultiPersonPoses]:
        codec = OpenPoseCodec(input_size=input_size, matching=self.matching, keypoint_set=self.keypoint_set,
                              **self.codec_options)  # fmt: skip
        return codec.decode(maps["heatmaps"], maps["pafs"])


class AssociativeEmbeddingHead:
    """LitePose outputs: quarter-resolution heatmaps + tags, half-resolution heatmaps; decoded by
    AssociativeEmbeddingCodec (heatmaps of both resolutions averaged)."""

    paradigm = "bottom-up"
    divisor = 32

    def __init__(self, keypoint_set: KeypointSet, **codec_options: object) -> None:
        self.keypoint_set, self.codec_options = keypoint_set, codec_options

    def split(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        k = self.keypoint_set.num_keypoints
        quarter = next((o for o in outputs if o.ndim == 4 and o.shape[1] == 2 * k), None)
        if quarter is None:
            raise ValueError(f"expected an (N, {2 * k}, h, w) heatmaps+tags output, got {[o.shape for o in outputs]}")
        maps = {"heatmaps": quarter[:, :k], "tags": quarter[:, k:]}
        half = next((o for o in outputs if o.ndim == 4 and o.shape[1] == k and o.shape[2] > quarter.shape[2]), None)
        if half is not None:
            maps["heatmaps_half"] = half
        return maps

    def unflip_channels(self, maps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        perm = self.keypoint_set.flip_index
        return {key: m[:, perm] for key, m in maps.items()}

    def decode(self, maps: dict[str, np.ndarray], input_size: tuple[int, int]) -> list[MultiPersonPoses]:
        strides = (4, 2) if "heatmaps_half" in maps else (4,)
        codec = AssociativeEmbeddingCodec(input_size=input_size, strides=strides, keypoint_set=self.keypoint_set,
                                          **self.codec_options)  # fmt: skip
        heatmaps = [maps["heatmaps"]] + ([maps["heatmaps_half"]] if "heatmaps_half" in maps else [])
        return codec.decode(heatmaps, maps["tags"])


def head_for(  # noqa: ANN201
    spec_family: str,
    paradigm: str,
    keypoint_set: KeypointSet,
    codec: str | None = None,
    codec_args: dict | None = None,
):
    """Pick the head adapter of a model from its family / paradigm / keypoint set. ``codec``: the
    codec variant name (a weights file's own, or the user's choice); ``codec_args``: extra codec
    arguments (a weights file's, without the ones the head sets itself: input size, strides, ...)."""
    args = dict(codec_args or {})
    if paradigm == "top-down":
        return HeatmapHead(keypoint_set, codec or "heatmap", **args)
    if spec_family == "openpose" or keypoint_set.name == "openpose18":
        return OpenPoseHead(keypoint_set, "hungarian" if codec == "openpose-hungarian" else "greedy", **args)
    return AssociativeEmbeddingHead(keypoint_set, **args)
