"""Latency measurement helpers (used by ``featherpose demo``/``bench`` and benchmarks/)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated calls, in milliseconds."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int


def time_callable(fn: Callable[[], object], warmup: int = 2, repeats: int = 7) -> Timing:
    """Median / min / max wall time of ``fn()`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return Timing(statistics.median(times), min(times), max(times), repeats)


def time_model(
    model: nn.Module,
    input_size: tuple[int, int],
    batch: int = 1,
    warmup: int = 2,
    repeats: int = 7,
    threads: int | None = 2,
) -> Timing:
    """Forward-pass latency of ``model`` (eval mode, no grad) on a random batch."""
    if threads is not None:
        torch.set_num_threads(threads)
    model.eval()
    x = torch.randn(batch, 3, *input_size)
    with torch.inference_mode():
        return time_callable(lambda: model(x), warmup=warmup, repeats=repeats)
