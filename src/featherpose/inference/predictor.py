"""``Predictor``: the network (a :class:`~featherpose.deploy.runners.Runner`) over a batch of
network inputs, in chunks of ``batch_size``. It owns what the network expects of its input: the
normalisation, the input size (``H, W``), the divisor every input side is a multiple of, and, for
bottom-up models, the test scale (how a whole image is sized into the input)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from featherpose.deploy.runners import Runner
from featherpose.preprocess import Normalisation, scaled_size, test_scale_size

from .timing import StageTimer


@dataclass
class Predictor:
    """``runner`` maps a normalised (N, 3, H, W) batch to a list of output arrays. Mutable on purpose:
    benchmarks swap ``runner``, the codec round trip sets ``input_size`` / ``divisor``."""

    runner: Runner
    normalise: Normalisation
    input_size: tuple[int, int]
    divisor: int
    test_scale: str = "fit"
    batch_size: int = 16
    timer: StageTimer = field(default_factory=StageTimer)

    def __post_init__(self) -> None:
        self.batch_size = max(1, int(self.batch_size))

    def __call__(self, pixels: np.ndarray, geometry: Sequence[dict] | None = None) -> list[np.ndarray]:
        """Normalise ``pixels`` ((N, H, W, 3) uint8, timed as ``pre``) and run the network over them
        (``net``). A runner with ``wants_geometry = True`` (e.g.
        :class:`featherpose.inference.targets.TargetRunner`) also gets, per batch item,
        ``{"image": i, "box": j | None, "matrix": image-to-input 2x3, "flip": bool}``."""
        with self.timer.stage("pre"):
            batch = self.normalise(pixels)
        return self.run(batch, geometry)

    def run(self, batch: np.ndarray, geometry: Sequence[dict] | None = None) -> list[np.ndarray]:
        """The network over an already normalised batch; outputs concatenated over the chunks."""
        step = self.batch_size
        with self.timer.stage("net"):
            if geometry is not None and getattr(self.runner, "wants_geometry", False):
                parts = [self.runner(batch[i : i + step], geometry[i : i + step])  # type: ignore[call-arg]
                         for i in range(0, len(batch), step)]  # fmt: skip
            else:
                parts = [self.runner(batch[i : i + step]) for i in range(0, len(batch), step)]
        return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]

    @property
    def width_follows_image(self) -> bool:
        """Bottom-up input of a fixed height, the width from each image (``test_scale="height"``)."""
        return self.test_scale == "height"

    def image_sizes(
        self, shapes: Sequence[tuple[int, ...]], scale: float = 1.0
    ) -> tuple[list[tuple[int, int]], tuple[int, int]]:
        """Bottom-up: per image (``shapes``: H, W, ...), the input it is scaled into at ``test_scale``
        (x ``scale``, multi-scale test), and the batch's common size (their maximum; padding right /
        bottom)."""
        base = scaled_size(self.input_size, scale, self.divisor)
        own = [test_scale_size(tuple(s[:2]), base, self.test_scale, self.divisor) for s in shapes]
        return own, (max(s[0] for s in own), max(s[1] for s in own))
