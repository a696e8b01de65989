"""Sample keys and their random streams: the one place a sample's augmentation randomness comes from.

A dataset item is addressed by an ``int`` index or by a key ``(epoch, index)`` (see
:class:`featherpose.engine.sampler.EpochBatchSampler`). With a seed, its generator is
``np.random.default_rng([seed, index])`` or ``np.random.default_rng([seed, epoch, index])``, so a
sample depends on (seed, epoch, index) only -- not on worker processes, ranks or where a run resumed.
"""

from __future__ import annotations

import numpy as np

SampleKey = int | tuple[int, int]


def sample_index(key: SampleKey) -> int:
    """The dataset index of a key: ``index`` or ``(epoch, index)``."""
    return int(key[1]) if isinstance(key, tuple) else int(key)


def sample_rng(seed: int | None, key: SampleKey) -> np.random.Generator:
    """The generator of one sample: keyed by ``[seed, *key]``, or fresh entropy without a seed."""
    if seed is None:
        return np.random.default_rng()
    parts = [int(k) for k in key] if isinstance(key, tuple) else [int(key)]
    return np.random.default_rng([seed, *parts])
