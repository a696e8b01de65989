"""The evaluation path (the estimator) scores perfect predictions near AP 1 (the network replaced by
encoded targets), and the trainer's ``evaluate`` runs the estimator with the recipe's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from featherpose.data.transforms import Normalisation
from featherpose.engine.build import build_codec, build_model_from_config
from featherpose.engine.config import config_from_dict
from featherpose.engine.datasets import image_folder, load_annotations
from featherpose.engine.evaluate import _ground_truth, evaluate, evaluation_estimator, flip_heatmaps
from featherpose.evaluation.coco import coco_keypoint_ap
from featherpose.inference.split import predict_split
from featherpose.inference.targets import codec_estimator


def _cfg(root: Path, codec: str, size: list[int], loss: str, model: str) -> object:
    split = {"train_ann": "annotations/person_keypoints_val2017.json", "train_images": "val2017"}
    return config_from_dict({
        "model": {"name": model}, "input_size": size, "codec": {"name": codec}, "loss": {"type": loss},
        "data": {"type": "coco", "root": str(root), **split},
        "eval": {"max_images": 12},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("codec", "size", "floor"), [("heatmap-dark", [128, 96], 0.95), ("ae-multires", [256, 256], 0.8)]
)
def test_oracle_on_the_evaluation_path_scores_high(coco_mini: Path, codec: str, size: list[int], floor: float) -> None:
    """The validation path with the network replaced by the encoded ground truth (codec-check's runner)."""
    cfg = _cfg(coco_mini, codec, size, "heatmap" if codec.startswith("heatmap") else "ae", "mobileposenet")
    ann = load_annotations(cfg, "val")
    est = codec_estimator(build_codec(cfg, ann.keypoint_set), ann.keypoint_set)
    records = ann.images[:12]
    results, _ = predict_split(est, records, image_folder(cfg, "val"))
    gt = _ground_truth(cfg, "val", 12)
    assert coco_keypoint_ap(gt, results)["AP"] > floor


def test_evaluate_runs_the_estimator_with_the_recipe_flip(coco_mini: Path) -> None:
    cfg = _cfg(coco_mini, "heatmap", [256, 192], "heatmap", "mobileposenet")
    cfg.eval.flip = True
    kset = load_annotations(cfg, "val").keypoint_set
    torch.manual_seed(0)
    net, codec = build_model_from_config(cfg, kset), build_codec(cfg, kset)
    est = evaluation_estimator(net, cfg, codec, kset, "cpu", flip=cfg.eval.flip)
    assert est.flip and est.input_size == (256, 192) and est.normalise == Normalisation.for_model(net)
    net.train()
    metrics = evaluate(net, cfg, codec, kset, torch.device("cpu"), max_images=2)
    assert net.training and metrics["score"] == metrics["AP"] and "eval_seconds" in metrics


def test_flip_heatmaps_undoes_a_mirrored_input() -> None:
    maps = torch.zeros(1, 2, 4, 6)
    maps[0, 0, 1, 1] = 1.0  # left keypoint at x = 1
    flipped_input_maps = torch.zeros(1, 2, 4, 6)
    flipped_input_maps[0, 1, 1, 6 - 1 - 1] = 1.0  # seen mirrored: right channel, x = 4
    back = flip_heatmaps(flipped_input_maps, [1, 0], shift=False)
    assert torch.equal(back, maps)
    with pytest.raises(AssertionError):
        assert torch.equal(flip_heatmaps(flipped_input_maps, [1, 0], shift=True), maps)
