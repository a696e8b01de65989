"""The evaluation pipeline scores perfect predictions near AP 1 (oracle models fed encoded targets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from featherpose.data import person_center_scale
from featherpose.data.transforms import affine_points, fit_matrix, get_warp_matrix
from featherpose.engine.build import build_codec
from featherpose.engine.config import config_from_dict
from featherpose.engine.datasets import load_annotations
from featherpose.engine.evaluate import evaluate, flip_heatmaps


class Replay(nn.Module):
    """Returns pre-computed outputs, one batch per call, ignoring the input."""

    def __init__(self, outputs: list) -> None:
        super().__init__()
        self.outputs = list(outputs)

    def forward(self, x: torch.Tensor) -> object:
        return self.outputs.pop(0)


def _cfg(root: Path, codec: str, size: list[int], loss: str) -> object:
    split = {"train_ann": "annotations/person_keypoints_val2017.json", "train_images": "val2017"}
    return config_from_dict({
        "model": {"name": "oracle"}, "input_size": size, "codec": {"name": codec}, "loss": {"type": loss},
        "data": {"type": "coco", "root": str(root), **split},
        "eval": {"max_images": 12},
    })  # fmt: skip


def test_top_down_oracle_scores_near_one(coco_mini: Path) -> None:
    cfg = _cfg(coco_mini, "heatmap-dark", [128, 96], "heatmap")
    ann = load_annotations(cfg, "val")
    codec = build_codec(cfg, ann.keypoint_set)
    maps = []
    for rec in ann.images[:12]:
        for person in rec.persons:
            c, s = person_center_scale(person, 96 / 128)
            hm, _ = codec.encode(affine_points(person.keypoints, get_warp_matrix(c, s, 0.0, (128, 96))))
            maps.append(torch.from_numpy(hm))
    batches = [torch.stack(maps[i : i + 32]) for i in range(0, len(maps), 32)]
    metrics = evaluate(Replay(batches), cfg, codec, ann.keypoint_set, torch.device("cpu"))
    assert metrics["AP"] > 0.95 and metrics["score"] == metrics["AP"]
    shifted = [torch.roll(b, 3, dims=-1) for b in batches]  # 3 heatmap pixels off: clearly lower
    assert evaluate(Replay(shifted), cfg, codec, ann.keypoint_set, torch.device("cpu"))["AP"] < metrics["AP"] - 0.1


def test_bottom_up_oracle_scores_high(coco_mini: Path) -> None:
    cfg = _cfg(coco_mini, "ae-multires", [256, 256], "ae")
    ann = load_annotations(cfg, "val")
    codec = build_codec(cfg, ann.keypoint_set)
    outs = []
    for rec in ann.images[:12]:
        m, _ = fit_matrix(rec.width, rec.height, (256, 256))
        kps = affine_points(rec.keypoints().reshape(-1, 17, 3), m)
        enc = codec.encode(kps)
        tags = codec.render_tags(kps)
        quarter = torch.from_numpy(np.concatenate([enc["heatmaps"][0], tags]))[None]
        outs.append((quarter, torch.from_numpy(enc["heatmaps"][1])[None]))
    metrics = evaluate(Replay(outs), cfg, codec, ann.keypoint_set, torch.device("cpu"))
    assert metrics["AP"] > 0.8


def test_flip_heatmaps_undoes_a_mirrored_input() -> None:
    maps = torch.zeros(1, 2, 4, 6)
    maps[0, 0, 1, 1] = 1.0  # left keypoint at x = 1
    flipped_input_maps = torch.zeros(1, 2, 4, 6)
    flipped_input_maps[0, 1, 1, 6 - 1 - 1] = 1.0  # seen mirrored: right channel, x = 4
    back = flip_heatmaps(flipped_input_maps, [1, 0], shift=False)
    assert torch.equal(back, maps)
    with pytest.raises(AssertionError):
        assert torch.equal(flip_heatmaps(flipped_input_maps, [1, 0], shift=True), maps)
