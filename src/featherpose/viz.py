"""Drawing poses and raw network outputs with OpenCV.

* :func:`draw_poses`: skeletons coloured by limb (or by side, or by person), each limb and
  keypoint drawn with its score as opacity, optional track ids and boxes (:class:`DrawOptions`).
* :func:`render_maps` / :func:`save_maps`: network outputs over the image — heatmaps as a
  colour-mapped maximum over channels, PAFs as colour-coded direction (HSV hue = angle, value =
  magnitude), tag maps as hue (the tag of the strongest keypoint channel) times heatmap strength.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from featherpose.inference.maps import MapLayer
from featherpose.skeletons import COCO17, KeypointSet


class PoseLike(Protocol):
    """What :func:`draw_poses` reads of a pose (:class:`featherpose.inference.Pose` has it all)."""

    keypoints: np.ndarray
    score: float
    box: tuple[float, float, float, float]
    track_id: int | None


def palette(n: int, saturation: int = 230, value: int = 255) -> list[tuple[int, int, int]]:
    """``n`` evenly spaced BGR colours around the hue circle."""
    hsv = np.zeros((1, max(n, 1), 3), np.uint8)
    hsv[0, :, 0] = (np.arange(max(n, 1)) * 180 // max(n, 1)).astype(np.uint8)
    hsv[0, :, 1], hsv[0, :, 2] = saturation, value
    return [tuple(int(c) for c in px) for px in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0][:n]]


def _blend_draw(
    canvas: np.ndarray,
    alpha: float,
    region: tuple[float, float, float, float],
    draw: Callable[[np.ndarray, tuple[int, int]], None],
) -> None:
    """Draw with opacity ``alpha`` inside the (x0, y0, x1, y1) region only (cheap per-element
    blending); ``draw(layer, (x0, y0))`` draws on the region's copy, offset by its corner."""
    h, w = canvas.shape[:2]
    x0, y0 = max(int(np.floor(region[0])), 0), max(int(np.floor(region[1])), 0)
    x1, y1 = min(int(np.ceil(region[2])) + 1, w), min(int(np.ceil(region[3])) + 1, h)
    alpha = float(min(alpha, 1.0))
    if x1 <= x0 or y1 <= y0 or alpha <= 0:
        return
    roi = canvas[y0:y1, x0:x1]
    layer = roi.copy()
    draw(layer, (x0, y0))
    cv2.addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


COLOR_SCHEMES = ("limb", "side", "person")
"""Skeleton colour schemes: ``limb`` (a hue per limb, the default), ``side`` (left / right / centre
limbs, from the keypoint names), ``person`` (one colour per pose: by track id when set, else order)."""

SIDE_COLORS = {"left": (255, 170, 0), "right": (0, 140, 255), "centre": (60, 220, 60)}  # BGR
PERSON_COLORS = 12  # distinct hues of the ``person`` scheme


@dataclass(frozen=True)
class DrawOptions:
    """How :func:`draw_poses` draws: elements scoring under ``kpt_thr`` are skipped; ``thickness``
    (limb width in pixels) and ``radius`` (keypoint dot) default to the image size (``thickness`` =
    shorter side / 240, at least 1; ``radius`` = thickness + 1); ``show_ids`` writes track ids above
    the poses, ``show_boxes`` draws the person boxes; ``colors``: one of :data:`COLOR_SCHEMES`."""

    kpt_thr: float = 0.05
    thickness: int | None = None
    radius: int | None = None
    show_ids: bool = True
    show_boxes: bool = False
    colors: str = "limb"

    def __post_init__(self) -> None:
        if not 0.0 <= self.kpt_thr <= 1.0:
            raise ValueError(f"drawing: keypoint threshold must be in [0, 1], got {self.kpt_thr}")
        if self.thickness is not None and self.thickness < 1:
            raise ValueError(f"drawing: thickness must be >= 1, got {self.thickness}")
        if self.radius is not None and self.radius < 0:
            raise ValueError(f"drawing: radius must be >= 0, got {self.radius}")
        if self.colors not in COLOR_SCHEMES:
            raise ValueError(f"drawing: unknown colour scheme {self.colors!r}; known: {', '.join(COLOR_SCHEMES)}")


def _side(name: str) -> str:
    n = name.lower()
    return "left" if n.startswith(("left", "l_")) else "right" if n.startswith(("right", "r_")) else "centre"


def limb_colors(keypoint_set: KeypointSet, scheme: str = "limb") -> list[tuple[int, int, int]]:
    """BGR colour of each limb of ``keypoint_set`` under ``scheme`` (``limb`` or ``side``; the
    ``person`` scheme colours whole poses, see :func:`draw_poses`)."""
    if scheme == "side":
        sides = [{_side(keypoint_set.keypoints[a]), _side(keypoint_set.keypoints[b])} for a, b in keypoint_set.limbs]
        return [SIDE_COLORS[s.pop() if len(s) == 1 else "centre"] for s in sides]
    return palette(len(keypoint_set.limbs))


def draw_poses(
    image: np.ndarray,
    poses: Sequence[PoseLike],
    keypoint_set: KeypointSet = COCO17,
    kpt_thr: float = 0.05,
    thickness: int | None = None,
    show_ids: bool = True,
    show_boxes: bool = False,
    radius: int | None = None,
    colors: str = "limb",
    options: DrawOptions | None = None,
) -> np.ndarray:
    """A copy of the BGR ``image`` with every pose drawn: limb colours from ``colors`` (see
    :data:`COLOR_SCHEMES`), opacity = the lower score of the limb's two keypoints (a keypoint's own
    score for its dot); elements under ``kpt_thr`` are skipped. Track ids (when set) are written
    above the pose. ``options`` (a :class:`DrawOptions`), when given, is used instead of the
    individual drawing arguments."""
    opts = options or DrawOptions(kpt_thr, thickness, radius, show_ids, show_boxes, colors)
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    t = opts.thickness or max(1, round(min(h, w) / 240))
    r = t + 1 if opts.radius is None else opts.radius
    scheme = limb_colors(keypoint_set, opts.colors)
    people = palette(PERSON_COLORS)
    for i, pose in enumerate(poses):
        kp = np.asarray(pose.keypoints, np.float64)
        tid = pose.track_id if pose.track_id is not None else i
        colors = [people[tid % PERSON_COLORS]] * len(scheme) if opts.colors == "person" else scheme
        shown = bool((kp[:, 2] >= opts.kpt_thr).any())
        if opts.show_boxes and shown:
            x, y, bw, bh = pose.box
            box_color = colors[0] if opts.colors == "person" else (200, 200, 200)
            cv2.rectangle(out, (round(x), round(y)), (round(x + bw), round(y + bh)), box_color, max(1, t // 2))
        for li, (a, b) in enumerate(keypoint_set.limbs):
            alpha = float(min(kp[a, 2], kp[b, 2]))
            if alpha < opts.kpt_thr or alpha <= 0:
                continue
            pa, pb = (round(kp[a, 0]), round(kp[a, 1])), (round(kp[b, 0]), round(kp[b, 1]))
            region = (min(pa[0], pb[0]) - t, min(pa[1], pb[1]) - t, max(pa[0], pb[0]) + t, max(pa[1], pb[1]) + t)

            def line(layer: np.ndarray, o: tuple[int, int], pa=pa, pb=pb, c=colors[li]) -> None:
                cv2.line(layer, (pa[0] - o[0], pa[1] - o[1]), (pb[0] - o[0], pb[1] - o[1]), c, t, cv2.LINE_AA)

            _blend_draw(out, alpha, region, line)
        for j in range(len(kp)):
            if kp[j, 2] < opts.kpt_thr or kp[j, 2] <= 0 or r <= 0:
                continue
            c = (round(kp[j, 0]), round(kp[j, 1]))

            def dot(layer: np.ndarray, o: tuple[int, int], c=c) -> None:
                cv2.circle(layer, (c[0] - o[0], c[1] - o[1]), r, (255, 255, 255), -1, cv2.LINE_AA)

            _blend_draw(out, float(kp[j, 2]), (c[0] - r - 1, c[1] - r - 1, c[0] + r + 1, c[1] + r + 1), dot)
        if opts.show_ids and pose.track_id is not None and shown:
            x, y = pose.box[0], pose.box[1]
            cv2.putText(out, f"#{pose.track_id}", (max(round(x), 0), max(round(y) - 4, 12)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4 * t + 0.2, (255, 255, 255), t, cv2.LINE_AA)  # fmt: skip
    return out


# -- raw network outputs ---------------------------------------------------------------------
def colorize_heatmap(heat: np.ndarray) -> np.ndarray:
    """(h, w) values in [0, 1] -> BGR with the JET colour map."""
    return cv2.applyColorMap(np.clip(heat * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)


def paf_to_bgr(pafs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2L, h, w) part affinity fields -> BGR direction image (hue = angle of the strongest limb's
    vector, value = its magnitude) and that magnitude (h, w) in [0, 1]."""
    vec = pafs.reshape(-1, 2, *pafs.shape[-2:])
    mag = np.hypot(vec[:, 0], vec[:, 1])
    idx = mag.argmax(0)[None, None]
    vx, vy = np.take_along_axis(vec, np.broadcast_to(idx, (1, 2, *idx.shape[2:])), 0)[0]
    m = np.clip(np.hypot(vx, vy), 0.0, 1.0)
    hsv = np.empty((*m.shape, 3), np.uint8)
    hsv[..., 0] = ((np.degrees(np.arctan2(vy, vx)) % 360.0) / 2.0).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = (m * 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), m


def tags_to_bgr(tags: np.ndarray, heatmaps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(K, h, w) tag maps -> BGR (hue = the tag of the strongest heatmap channel, normalised over
    the confident pixels; value = heatmap maximum) and the strength (h, w) in [0, 1]."""
    if heatmaps is None or heatmaps.shape != tags.shape:
        tag, strength = tags.mean(0), np.ones(tags.shape[-2:], np.float32)
    else:
        ch = heatmaps.argmax(0)[None]
        tag = np.take_along_axis(tags, ch, 0)[0]
        strength = np.clip(heatmaps.max(0), 0.0, 1.0)
    sel = strength > 0.1
    lo, hi = np.percentile(tag[sel], [2, 98]) if sel.sum() > 4 else (tag.min(), tag.max())
    norm = np.clip((tag - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    hsv = np.empty((*tag.shape, 3), np.uint8)
    hsv[..., 0] = (norm * 170).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = (strength * 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), strength


def _to_image(arr: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp a map-frame array to the image frame (``matrix`` takes image pixels to map pixels)."""
    return cv2.warpAffine(arr, np.asarray(matrix, np.float64), (size[1], size[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0)  # fmt: skip


def render_maps(image: np.ndarray, layers: Sequence[MapLayer], kind: str, opacity: float = 0.7) -> np.ndarray:
    """The ``kind`` layers of one image blended over the BGR ``image`` (layers of several persons
    are combined by their maximum strength)."""
    size = image.shape[:2]
    color = np.zeros((*size, 3), np.float32)
    strength = np.zeros(size, np.float32)
    for layer in (la for la in layers if la.kind == kind):
        if kind == "heatmaps":
            heat = np.clip(layer.data.max(0), 0.0, 1.0).astype(np.float32)
            rgb, s = colorize_heatmap(heat), heat
        elif kind == "pafs":
            rgb, s = paf_to_bgr(layer.data)
        elif kind == "tags":
            rgb, s = tags_to_bgr(layer.data, layer.weights)
        else:
            raise ValueError(f"unknown map kind {kind!r}")
        s_img = _to_image(s.astype(np.float32), layer.matrix, size)
        c_img = _to_image(rgb, layer.matrix, size).astype(np.float32)
        better = s_img > strength
        color[better], strength[better] = c_img[better], s_img[better]
    if kind == "heatmaps":  # re-colour the combined maximum so the colour scale is shared
        color = colorize_heatmap(strength).astype(np.float32)
    a = (opacity * np.clip(strength * 2.0, 0.0, 1.0))[..., None]
    return np.clip(image.astype(np.float32) * (1 - a) + color * a, 0, 255).astype(np.uint8)


def save_maps(image: np.ndarray, layers: Sequence[MapLayer], out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``STEM_heatmaps.jpg`` (and ``STEM_pafs.jpg`` / ``STEM_tags.jpg`` when present) into
    ``out_dir``: each kind of raw output rendered over the image. Returns the written paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("heatmaps", "pafs", "tags"):
        if any(la.kind == kind for la in layers):
            path = out / f"{stem}_{kind}.jpg"
            if not cv2.imwrite(str(path), render_maps(image, layers, kind)):
                raise OSError(f"{path}: cannot be written")
            written.append(path)
    return written
