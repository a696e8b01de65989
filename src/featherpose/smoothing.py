"""Temporal smoothing of keypoints with the One-Euro filter (Casiez et al., CHI 2012).

A low-pass filter whose cut-off frequency grows with the speed of the signal: little jitter when
a keypoint is still, little lag when it moves. ``min_cutoff`` (Hz) sets the smoothing at rest,
``beta`` (per pixel/second) how fast the cut-off rises with speed, ``d_cutoff`` (Hz) the
smoothing of the speed estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from featherpose.inference.pose import Pose


def smoothing_factor(dt: float, cutoff: np.ndarray | float) -> np.ndarray:
    """Exponential-smoothing weight of a first-order low-pass filter at ``cutoff`` Hz over ``dt`` s."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over arrays of any shape (every element filtered independently).

    ``filter(x, t, mask)``: ``x`` the new measurement at time ``t`` (seconds, increasing); where
    ``mask`` is False the element is passed through and its state left untouched (e.g. a keypoint
    not detected in this frame)."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.01, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be > 0 and beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.seen: np.ndarray | None = None
        self.t: float | None = None

    def reset(self) -> None:
        self.x = self.dx = self.seen = None
        self.t = None

    def __call__(self, x: np.ndarray, t: float, mask: np.ndarray | None = None) -> np.ndarray:
        return self.filter(x, t, mask)

    def filter(self, x: np.ndarray, t: float, mask: np.ndarray | None = None) -> np.ndarray:
        x = np.asarray(x, np.float64)
        mask = np.ones(x.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), x.shape)
        if self.x is None or self.x.shape != x.shape:
            self.x, self.dx, self.seen, self.t = x.copy(), np.zeros_like(x), mask.copy(), float(t)
            return x.copy()
        dt = float(t) - self.t
        if dt <= 0:
            raise ValueError(f"timestamps must increase (got {t} after {self.t})")
        self.t = float(t)
        new = mask & ~self.seen  # first sighting of an element: start from the measurement
        old = mask & self.seen
        dx = (x - self.x) / dt
        a_d = smoothing_factor(dt, self.d_cutoff)
        dx_hat = a_d * dx + (1 - a_d) * self.dx
        a = smoothing_factor(dt, self.min_cutoff + self.beta * np.abs(dx_hat))
        x_hat = a * x + (1 - a) * self.x
        out = x.copy()
        out[old] = x_hat[old]
        self.x[old], self.dx[old] = x_hat[old], dx_hat[old]
        self.x[new], self.dx[new] = x[new], 0.0
        self.seen |= mask
        return out


class PoseSmoother:
    """One One-Euro filter per track (per keypoint, x and y): poses need ``track_id`` (run a
    :class:`~featherpose.tracking.PoseTracker` first); poses without one pass unchanged. Keypoints
    scoring under ``kpt_thr`` are not filtered and do not disturb the filter state. A track not
    seen for ``max_gap`` calls is forgotten."""

    def __init__(
        self,
        min_cutoff: float = 1.0,
        beta: float = 0.01,
        d_cutoff: float = 1.0,
        kpt_thr: float = 0.1,
        max_gap: int = 30,
    ) -> None:
        self.params = {"min_cutoff": min_cutoff, "beta": beta, "d_cutoff": d_cutoff}
        self.kpt_thr, self.max_gap = kpt_thr, max_gap
        self.filters: dict[int, OneEuroFilter] = {}
        self.last_seen: dict[int, int] = {}
        self.calls = 0

    def __call__(self, poses: Sequence[Pose], t: float) -> list[Pose]:
        """Smoothed copies of ``poses`` at time ``t`` (seconds)."""
        self.calls += 1
        out = []
        for pose in poses:
            if pose.track_id is None:
                out.append(pose)
                continue
            f = self.filters.setdefault(pose.track_id, OneEuroFilter(**self.params))
            self.last_seen[pose.track_id] = self.calls
            kp = np.asarray(pose.keypoints, np.float32).copy()
            mask = np.repeat((kp[:, 2] >= self.kpt_thr)[:, None], 2, 1)
            kp[:, :2] = f(kp[:, :2], t, mask)
            out.append(replace(pose, keypoints=kp))
        for tid in [k for k, v in self.last_seen.items() if self.calls - v > self.max_gap]:
            del self.filters[tid], self.last_seen[tid]
        return out
