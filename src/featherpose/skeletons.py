"""Keypoint sets: names, limbs, left/right flip pairs and OKS sigmas, plus conversions.

Every other module asks a :class:`KeypointSet` for these facts instead of hard-coding 17 or 18.
Indices are 0-based everywhere in this module (COCO files store 1-based skeletons; the loader
converts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class KeypointSet:
    """A named set of keypoints with its skeleton, flip pairs and (optional) OKS sigmas."""

    name: str
    keypoints: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...] | None = None
    extra: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        if len(set(self.keypoints)) != k:
            raise ValueError(f"keypoint set {self.name!r}: duplicate keypoint names")
        for kind, pairs in (("limb", self.limbs), ("flip pair", self.flip_pairs)):
            for a, b in pairs:
                if not (0 <= a < k and 0 <= b < k) or a == b:
                    raise ValueError(f"keypoint set {self.name!r}: {kind} ({a}, {b}) is out of range 0..{k - 1}")
        seen = [i for pair in self.flip_pairs for i in pair]
        if len(seen) != len(set(seen)):
            raise ValueError(f"keypoint set {self.name!r}: a keypoint appears in two flip pairs")
        if self.sigmas is not None and len(self.sigmas) != k:
            raise ValueError(f"keypoint set {self.name!r}: {len(self.sigmas)} sigmas for {k} keypoints")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def __len__(self) -> int:
        return len(self.keypoints)

    @property
    def flip_index(self) -> list[int]:
        """Permutation that maps each keypoint to its mirror twin (itself if it has none)."""
        perm = list(range(self.num_keypoints))
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    def index(self, name: str) -> int:
        return self.keypoints.index(name)

    def sigmas_array(self) -> np.ndarray:
        """OKS sigmas as an array; raises if this set has none."""
        if self.sigmas is None:
            raise ValueError(f"keypoint set {self.name!r} has no OKS sigmas")
        return np.asarray(self.sigmas, dtype=np.float64)

    def to_coco_category(self, category_id: int = 1) -> dict:
        """A COCO `categories` entry (1-based skeleton and flip pairs) describing this set."""
        cat: dict = {
            "id": category_id,
            "name": "person",
            "supercategory": "person",
            "keypoints": list(self.keypoints),
            "skeleton": [[a + 1, b + 1] for a, b in self.limbs],
            "flip_pairs": [[a + 1, b + 1] for a, b in self.flip_pairs],
        }
        if self.sigmas is not None:
            cat["sigmas"] = list(self.sigmas)
        return cat


_COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
# The official COCO sigmas (pycocotools' cocoeval.py).
_COCO_SIGMAS = tuple(
    s / 10.0
    for s in (0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89)
)
# The 19 limbs of the official COCO skeleton, converted to 0-based indices.
_COCO_LIMBS = tuple(
    (a - 1, b - 1)
    for a, b in (
        (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
        (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
    )
)  # fmt: skip

COCO17 = KeypointSet(
    name="coco17",
    keypoints=_COCO_NAMES,
    limbs=_COCO_LIMBS,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    sigmas=_COCO_SIGMAS,
)

# OpenPose order: COCO-17 re-ordered plus a neck (index 1).
_OPENPOSE_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
# For each OpenPose keypoint, the COCO index it comes from (-1: the neck, a derived point).
OPENPOSE_FROM_COCO = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
_NECK_SIGMA = 0.079  # a shoulder's sigma; the neck never reaches COCO evaluation
OPENPOSE18 = KeypointSet(
    name="openpose18",
    keypoints=_OPENPOSE_NAMES,
    # The 19 limbs of the OpenPose body model, in the reference's (kinematic) order; which of the 38 PAF
    # channels hold each limb is the codec's business (featherpose.codecs.openpose.REFERENCE_PAF_CHANNELS).
    limbs=(
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
        (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
    ),  # fmt: skip
    flip_pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)),
    sigmas=tuple(_NECK_SIGMA if c < 0 else _COCO_SIGMAS[c] for c in OPENPOSE_FROM_COCO),
)

MPII16 = KeypointSet(
    name="mpii16",
    keypoints=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis",
        "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder",
        "left_shoulder", "left_elbow", "left_wrist",
    ),  # fmt: skip
    limbs=(
        (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
        (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15),
    ),  # fmt: skip
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    sigmas=None,  # MPII is scored with PCKh, not OKS
)

CROWDPOSE14 = KeypointSet(
    name="crowdpose14",
    keypoints=(
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck",
    ),  # fmt: skip
    limbs=(
        (12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7),
        (6, 8), (8, 10), (7, 9), (9, 11),
    ),  # fmt: skip
    flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
    # CrowdPose's evaluation sigmas (its crowdposetools fork of cocoeval).
    sigmas=tuple(
        s / 10.0 for s in (0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89, 0.79, 0.79)
    ),
)

KEYPOINT_SETS: dict[str, KeypointSet] = {s.name: s for s in (COCO17, OPENPOSE18, MPII16, CROWDPOSE14)}


def get_keypoint_set(name: str | KeypointSet) -> KeypointSet:
    """Look a keypoint set up by name (``coco17``, ``openpose18``, ``mpii16``, ``crowdpose14``)."""
    if isinstance(name, KeypointSet):
        return name
    try:
        return KEYPOINT_SETS[name]
    except KeyError:
        raise ValueError(f"unknown keypoint set {name!r}; known: {', '.join(KEYPOINT_SETS)}") from None


_MIRROR_PREFIXES = (("left_", "right_"), ("right_", "left_"), ("l_", "r_"), ("r_", "l_"))


def _mirror_name(name: str) -> str | None:
    for a, b in _MIRROR_PREFIXES:
        if name.startswith(a):
            return b + name[len(a) :]
    return None


def infer_flip_pairs(names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Flip pairs from ``left_*``/``right_*`` (or ``l_``/``r_``) naming; unmatched names have none."""
    index = {n: i for i, n in enumerate(names)}
    pairs: list[tuple[int, int]] = []
    for i, n in enumerate(names):
        twin = _mirror_name(n)
        j = index.get(twin) if twin is not None else None
        if j is not None and i < j:
            pairs.append((i, j))
    return tuple(pairs)


def keypoint_set_from_coco_category(category: Mapping, name: str | None = None) -> KeypointSet:
    """Build a keypoint set from a COCO-style ``categories`` entry.

    Reads ``keypoints`` (names) and ``skeleton`` (1-based limb pairs), and two optional fields that
    featherpose defines: ``flip_pairs`` (1-based ``[[left, right], ...]``; inferred from
    ``left_``/``right_`` names when absent) and ``sigmas`` (one OKS sigma per keypoint; when absent,
    names shared with COCO-17 take COCO's sigma and the rest 0.05).
    """
    if "keypoints" not in category or not isinstance(category["keypoints"], list):
        raise ValueError("category entry has no 'keypoints' list")
    names = tuple(str(n) for n in category["keypoints"])
    if not names:
        raise ValueError("category entry has an empty 'keypoints' list")

    def pairs(field_name: str) -> tuple[tuple[int, int], ...]:
        raw = category.get(field_name) or []
        try:
            return tuple((int(a) - 1, int(b) - 1) for a, b in raw)
        except (TypeError, ValueError):
            raise ValueError(f"category field {field_name!r} must be a list of [a, b] pairs") from None

    limbs = pairs("skeleton")
    flip = pairs("flip_pairs") if "flip_pairs" in category else infer_flip_pairs(names)
    if "sigmas" in category:
        sigmas = tuple(float(s) for s in category["sigmas"])
    else:
        coco = dict(zip(COCO17.keypoints, _COCO_SIGMAS, strict=True))
        sigmas = tuple(coco.get(n, 0.05) for n in names)
    known = next((s for s in KEYPOINT_SETS.values() if s.keypoints == names), None)
    label = name or (known.name if known else str(category.get("name", "custom")))
    return KeypointSet(name=label, keypoints=names, limbs=limbs, flip_pairs=flip, sigmas=sigmas)


def coco_to_openpose(keypoints: np.ndarray) -> np.ndarray:
    """Convert (..., 17, C) COCO keypoints (C = 2 or 3, last = visibility/score) to OpenPose-18.

    The neck is the shoulder midpoint, visible only when both shoulders are: its visibility (or
    score) is the smaller of the two shoulders', and 0 when either is 0.
    """
    kp = np.asarray(keypoints)
    if kp.shape[-2] != 17:
        raise ValueError(f"expected 17 COCO keypoints, got shape {kp.shape}")
    out = np.zeros(kp.shape[:-2] + (18, kp.shape[-1]), dtype=np.result_type(kp.dtype, np.float32))
    for op_idx, coco_idx in enumerate(OPENPOSE_FROM_COCO):
        if coco_idx >= 0:
            out[..., op_idx, :] = kp[..., coco_idx, :]
    ls, rs = kp[..., 5, :], kp[..., 6, :]
    out[..., 1, :2] = (ls[..., :2] + rs[..., :2]) / 2.0
    if kp.shape[-1] > 2:
        both = (ls[..., 2] > 0) & (rs[..., 2] > 0)
        out[..., 1, 2] = np.where(both, np.minimum(ls[..., 2], rs[..., 2]), 0)
        out[..., 1, :2] *= both[..., None]
    return out


def openpose_to_coco(keypoints: np.ndarray) -> np.ndarray:
    """Convert (..., 18, C) OpenPose keypoints back to COCO-17 (the neck is dropped)."""
    kp = np.asarray(keypoints)
    if kp.shape[-2] != 18:
        raise ValueError(f"expected 18 OpenPose keypoints, got shape {kp.shape}")
    out = np.zeros(kp.shape[:-2] + (17, kp.shape[-1]), dtype=kp.dtype)
    for op_idx, coco_idx in enumerate(OPENPOSE_FROM_COCO):
        if coco_idx >= 0:
            out[..., coco_idx, :] = kp[..., op_idx, :]
    return out
