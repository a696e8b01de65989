"""OpenVINORunner: one dynamic executable, and a static one for each input shape that keeps coming back."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from featherpose.deploy import backends


@pytest.fixture
def xml(tmp_path, monkeypatch):
    pytest.importorskip("openvino")
    from featherpose.deploy.export import export_model

    monkeypatch.setenv("FEATHERPOSE_CACHE", str(tmp_path / "cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return export_model("ghostpose", tmp_path / "g.xml", input_size=(64, 64))


def test_repeated_shapes_get_static_executables_with_the_same_outputs(xml):
    runner = backends.OpenVINORunner(xml, threads=1, precision="fp32")
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype(np.float32)
    first = runner(x)  # the dynamic executable
    assert runner.static_compiles == 0 and runner._dynamic is not None
    for _ in range(backends.STATIC_AFTER - 2):
        runner(x)
    assert runner.static_compiles == 0
    second = runner(x)  # seen STATIC_AFTER times: its own static executable
    assert runner.static_compiles == 1 and (1, 3, 64, 64) in runner._compiled
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4 * max(1.0, float(np.abs(a).max())))
    runner(x)
    assert runner.static_compiles == 1  # reused, not recompiled
    other = runner(np.zeros((1, 3, 96, 64), np.float32))  # a new size: dynamic, no compile
    assert runner.static_compiles == 1 and other[0].shape[-2:] == (12, 8)


def test_static_compiles_are_bounded(xml, monkeypatch):
    monkeypatch.setattr(backends, "MAX_STATIC_COMPILES", 1)
    monkeypatch.setattr(backends, "STATIC_AFTER", 2)
    runner = backends.OpenVINORunner(xml, threads=1, precision="fp32")
    for h in (64, 64, 96, 96, 128, 128):  # every size twice: only the first gets a static compile
        runner(np.zeros((1, 3, h, 64), np.float32))
    assert runner.static_compiles == 1 and list(runner._compiled) == [(1, 3, 64, 64)]
