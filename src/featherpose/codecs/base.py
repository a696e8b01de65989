"""The codec contract: what every codec offers to the trainer, the estimator and the round trip.

A :class:`Codec` owns everything that depends on *which* target encoding a model was trained with:
its paradigm, its frame (input size, output stride, the multiple network inputs must be), how
keypoints become training targets (``prepare_keypoints`` + ``encode``), which network outputs hold
which maps (``split``), how the maps of a mirrored input map back (``unflip``: channel swaps, PAF
sign flips) and how maps become keypoints (``decode``). Callers use these members and never branch
on the codec's class.

It is a :class:`typing.Protocol` (structural), not an ABC: the codecs share no implementation, a
codec written elsewhere (a test double, a plug-in) satisfies the contract without importing or
inheriting from featherpose, and ``isinstance(x, Codec)`` (``runtime_checkable``) still checks
that the members are there.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from featherpose.skeletons import KeypointSet

PARADIGMS = ("top-down", "bottom-up")


@runtime_checkable
class Codec(Protocol):
    """The members every codec implements (see ``docs/codecs.md``, "The codec contract").

    * ``name``: the variant name (``get_codec`` sets it; the class default otherwise).
    * ``paradigm``: ``"top-down"`` (one person per crop; ``decode`` -> (xy (N, K, 2), scores (N, K)))
      or ``"bottom-up"`` (whole image; ``decode`` -> one ``MultiPersonPoses`` per image).
    * ``input_size``: (H, W) of the network input; ``stride``: input pixels per pixel of the first
      output map; ``divisor``: the multiple every network input size is rounded up to.
    * ``udp``: the crop uses UDP's ``(size - 1)`` scaling (``get_warp_matrix(..., udp=True)``).
    * ``keypoint_set``: the keypoints the maps hold (None: not known yet, ``adopt_keypoint_set``).
    """

    name: str
    paradigm: str
    input_size: tuple[int, int]
    udp: bool
    keypoint_set: KeypointSet | None

    @property
    def stride(self) -> int: ...

    @property
    def divisor(self) -> int: ...

    def adopt_keypoint_set(self, keypoint_set: KeypointSet) -> None:
        """In place: take the data's keypoint set where the codec follows the data (heatmaps, AE);
        a codec with its own set (OpenPose-18) keeps it and converts in ``prepare_keypoints``."""
        ...

    def prepare_keypoints(self, keypoints: np.ndarray, keypoint_set: KeypointSet) -> np.ndarray:
        """Dataset keypoints (..., K, 3) in ``keypoint_set`` -> this codec's keypoints (float32)."""
        ...

    def encode(self, keypoints: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        """Keypoints in the input frame -> training targets (the codec's own layout)."""
        ...

    def render_outputs(self, keypoints: np.ndarray) -> list[np.ndarray]:
        """The outputs (one unbatched array per network output, in the network's layout) a perfect
        network would give for ``keypoints`` (the codec's set, input frame): ``split`` reads them."""
        ...

    def split(self, outputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Batched network outputs -> the named maps ``decode`` and ``unflip`` take."""
        ...

    def unflip(self, maps: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Channel part of un-mirroring the maps of a flipped input (left/right swaps, PAF x sign);
        the spatial mirror is the caller's warp."""
        ...

    def decode(self, maps: Any, *args: Any) -> Any:
        """Named maps (``split``'s dict) -> keypoints in the input frame (see ``paradigm``)."""
        ...

    def at_size(self, input_size: tuple[int, int], map_size: tuple[int, int] | None = None) -> Codec:
        """This codec for a network input of ``input_size`` whose first output is ``map_size``
        (itself when nothing changes, else a copy)."""
        ...


__all__ = ["PARADIGMS", "Codec"]


C = TypeVar("C")


def with_input_size(codec: C, input_size: tuple[int, int]) -> C:
    """``codec`` itself when it already works at ``input_size``, else a shallow copy that does: for codecs
    whose map sizes follow from the input size and fixed strides (OpenPose, associative embedding)."""
    size = (int(input_size[0]), int(input_size[1]))
    if size == codec.input_size:  # type: ignore[attr-defined]
        return codec
    out = copy.copy(codec)
    out.input_size = size  # type: ignore[attr-defined]
    return out
