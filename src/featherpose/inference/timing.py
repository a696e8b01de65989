"""Per-stage wall-clock timings of the inference pipeline (pre / net / post), for benchmarks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

STAGES = ("pre", "net", "post")


@dataclass
class StageTimer:
    """Accumulates seconds per stage; ``last`` holds the most recent call, ``total`` all calls."""

    total: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    last: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    calls: int = 0
    images: int = 0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block and add it to stage ``name``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.total[name] = self.total.get(name, 0.0) + dt
            self.last[name] = self.last.get(name, 0.0) + dt

    def start_call(self, images: int) -> None:
        """Begin a new call on ``images`` images (resets ``last``)."""
        self.last = dict.fromkeys(self.total, 0.0)
        self.calls += 1
        self.images += images

    def reset(self) -> None:
        """Forget every measurement."""
        self.total = dict.fromkeys(STAGES, 0.0)
        self.last = dict.fromkeys(STAGES, 0.0)
        self.calls = self.images = 0

    def per_image_ms(self) -> dict[str, float]:
        """Mean milliseconds per image for every stage over all calls."""
        n = max(self.images, 1)
        return {k: 1000.0 * v / n for k, v in self.total.items()}
