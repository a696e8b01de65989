"""One-Euro filter and per-track keypoint smoothing."""

from __future__ import annotations

import numpy as np
import pytest

from featherpose.inference import Pose
from featherpose.smoothing import OneEuroFilter, PoseSmoother, smoothing_factor


def test_smoothing_factor_limits():
    assert smoothing_factor(1.0, 1e6) == pytest.approx(1.0, abs=1e-5)  # huge cut-off: no smoothing
    assert smoothing_factor(1 / 30, 1e-6) < 1e-6  # tiny cut-off: frozen


def test_still_signal_jitter_is_removed():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    truth = np.array([100.0, 50.0])
    raw = truth + rng.normal(0, 2.0, (300, 2))
    out = np.array([f(x, i / 30) for i, x in enumerate(raw)])
    assert np.std(out[50:] - truth) < 0.35 * np.std(raw[50:] - truth)


def test_beta_reduces_lag_on_fast_motion():
    t = np.arange(60) / 30
    ramp = np.stack([300 * t, 0 * t], 1)  # 300 px/s
    lag = {}
    for beta in (0.0, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        out = np.array([f(x, ti) for x, ti in zip(ramp, t, strict=True)])
        lag[beta] = float(np.abs(out[-1, 0] - ramp[-1, 0]))
    assert lag[0.05] < 0.3 * lag[0.0]


def test_mask_passes_through_and_keeps_state():
    f = OneEuroFilter(min_cutoff=0.5)
    f(np.array([0.0, 0.0]), 0.0)
    out = f(np.array([10.0, 10.0]), 0.1, mask=np.array([True, False]))
    assert 0 < out[0] < 10 and out[1] == 10.0
    assert f.x[1] == 0.0  # the masked element's state is untouched
    with pytest.raises(ValueError, match="increase"):
        f(np.zeros(2), 0.1)


def _pose(x: float, track: int | None, score: float = 0.9) -> Pose:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = x, np.arange(17) * 10.0, score
    return Pose(kp, 1.0, (x, 0.0, 10.0, 170.0), track)


def test_pose_smoother_per_track():
    s = PoseSmoother(min_cutoff=0.5, beta=0.0)
    s([_pose(0.0, 1), _pose(500.0, 2), _pose(0.0, None)], 0.0)
    a, b, c = s([_pose(20.0, 1), _pose(500.0, 2), _pose(20.0, None)], 1 / 30)
    assert 0 < a.keypoints[0, 0] < 20  # smoothed toward its own history
    assert b.keypoints[0, 0] == pytest.approx(500.0)  # the other track did not move
    assert c.keypoints[0, 0] == 20.0  # no identity: untouched
    low = s([_pose(40.0, 1, score=0.01)], 2 / 30)[0]
    assert low.keypoints[0, 0] == 40.0  # low-score keypoints are not filtered
