"""Deterministic, resumable batch order: ``(seed, epoch)`` fixes the permutation, ``DistributedSampler``
splits it across ranks, and a run resumed mid-epoch starts at the batch it stopped at."""

from __future__ import annotations

import math
from collections.abc import Iterator

from torch.utils.data import DistributedSampler, Sampler


class _Sized:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


class EpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields batches of dataset keys ``(epoch, index)`` for one epoch on one rank.

    Rank ``r`` of ``W`` takes positions ``r, r + W, ...`` of the epoch's permutation (torch's
    :class:`DistributedSampler`), so the union of the ranks' step-``s`` batches of size ``B`` is
    the step-``s`` batch of size ``W * B`` of a single process.
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        epoch: int,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        start_batch: int = 0,
    ) -> None:
        self.size, self.batch_size, self.epoch = size, batch_size, epoch
        self.start_batch = start_batch
        sampler = DistributedSampler(
            _Sized(size), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=False
        )
        sampler.set_epoch(epoch)
        self.indices = list(iter(sampler))

    def __len__(self) -> int:
        return max(0, math.ceil(len(self.indices) / self.batch_size) - self.start_batch)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        b = self.batch_size
        for start in range(self.start_batch * b, len(self.indices), b):
            yield [(self.epoch, i) for i in self.indices[start : start + b]]


def steps_per_epoch(size: int, batch_size: int, world_size: int = 1) -> int:
    """Optimiser steps in one epoch for each rank."""
    return math.ceil(math.ceil(size / world_size) / batch_size)
