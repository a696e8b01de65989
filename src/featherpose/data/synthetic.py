"""Synthetic top-down samples: random images with random keypoints (for engine tests and smoke runs)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from featherpose.data.sampling import SampleKey, sample_index, sample_rng


class SyntheticDataset(Dataset):
    """``size`` random images with random keypoints, encoded by a top-down codec.

    The image and keypoints of an index are fixed (``[seed, index]``); a random horizontal flip, the
    "augmentation", is drawn from ``sample_rng(seed, key)`` and so changes with the epoch of the key.
    """

    def __init__(self, size: int, codec: object, input_size: tuple[int, int], seed: int = 0,
                 num_keypoints: int = 17) -> None:  # fmt: skip
        self.size, self.codec, self.input_size = size, codec, tuple(input_size)
        self.seed, self.k = seed, num_keypoints

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: SampleKey) -> dict[str, torch.Tensor]:
        index = sample_index(key)
        base = np.random.default_rng([self.seed, index])
        ih, iw = self.input_size
        img = base.normal(size=(3, ih, iw)).astype(np.float32)
        kps = np.concatenate([base.uniform(0, [iw, ih], size=(self.k, 2)), np.full((self.k, 1), 2.0)], 1)
        if sample_rng(self.seed, key).random() < 0.5:
            img = img[:, :, ::-1].copy()
            kps[:, 0] = iw - 1 - kps[:, 0]
        heatmaps, weights = self.codec.encode(kps.astype(np.float32))
        return {"image": torch.from_numpy(img), "heatmaps": torch.from_numpy(heatmaps),
                "keypoint_weights": torch.from_numpy(weights)}  # fmt: skip
