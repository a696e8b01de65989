"""One prediction path: ``featherpose eval`` prints the AP of what ``featherpose infer`` outputs.

For each paradigm (top-down heatmaps, bottom-up associative embedding, bottom-up OpenPose), the
same weights file goes through ``eval CONFIG --weights W --json --results R`` and through
``infer IMAGES --model W --boxes DET.json --backend torch`` (DET.json: the ground-truth boxes eval
uses, score 1); pycocotools scores infer's predictions.json on the same images. The two APs agree
within 0.001 and the two prediction lists are the same poses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from featherpose import pretrained
from featherpose.cli import main
from featherpose.data import CocoKeypoints
from featherpose.engine.build import build_codec, build_model_from_config
from featherpose.engine.checkpoint import save_weights
from featherpose.engine.config import load_config
from featherpose.engine.datasets import dataset_keypoint_set
from featherpose.evaluation.coco import coco_keypoint_ap, load_coco
from featherpose.inference.split import ground_truth_boxes
from featherpose.modelfile import training_meta

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("one_thread")]


def _config(tmp: Path, model: str, size: list[int], codec: str, loss: str, dataset: str, flip: bool) -> Path:
    root = DATA / dataset
    if not root.exists():
        pytest.skip(f"{root} is absent: the real data lives in ../shared beside the checkout")
    ann, images = (("annotations/person_keypoints_val2017.json", "val2017") if dataset == "coco-mini"
                   else ("annotations/lspet_val.json", "images"))  # fmt: skip
    cfg = {"model": {"name": model}, "input_size": size, "codec": {"name": codec}, "loss": {"type": loss},
           "data": {"type": "coco", "root": str(root), "train_ann": ann, "train_images": images,
                    "val_ann": ann, "val_images": images},
           "eval": {"flip": flip}}  # fmt: skip
    path = tmp / f"{model}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


def _random_weights(tmp: Path, config: Path) -> Path:
    """Weights with metadata as the trainer writes them (seeded random init: the path under test is
    the same whatever the weights; the shipped-weights cases give non-trivial APs)."""
    torch.manual_seed(0)
    cfg = load_config(config)
    kset = dataset_keypoint_set(cfg)
    net, codec = build_model_from_config(cfg, kset), build_codec(cfg, kset)
    path = tmp / "w.safetensors"
    save_weights(net, path, training_meta(cfg, kset, codec, net))
    return path


def eval_vs_infer(tmp: Path, config: Path, weights: Path, max_images: int, capsys) -> tuple[float, float, int]:
    """(eval AP, infer AP, number of poses); asserts that both runs give the same poses."""
    cfg = load_config(config)
    ann_path = cfg.data_path(cfg.data.val_ann)
    records = CocoKeypoints(ann_path).images[:max_images]
    det = tmp / "det.json"
    det.write_text(json.dumps(ground_truth_boxes(records)))
    res_eval = tmp / "eval.json"
    capsys.readouterr()
    assert main(["eval", str(config), "--weights", str(weights), "--json", "--max-images", str(max_images),
                 "--results", str(res_eval)]) == 0  # fmt: skip
    ap_eval = json.loads(capsys.readouterr().out)["AP"]
    images = [str(cfg.data_path(cfg.data.val_images) / r.file_name) for r in records]
    flip = ["--flip"] if cfg.eval.flip else []
    out = tmp / "infer"
    assert main(["infer", *images, "--model", str(weights), "--boxes", str(det), "--backend", "torch",
                 "--out", str(out), "--no-render", *flip]) == 0  # fmt: skip
    capsys.readouterr()
    ids = {r.id for r in records}
    gt = load_coco(ann_path)
    sub = {**gt.dataset, "images": [i for i in gt.dataset["images"] if i["id"] in ids],
           "annotations": [a for a in gt.dataset["annotations"] if a["image_id"] in ids]}  # fmt: skip
    from_infer = [p for p in json.loads((out / "predictions.json").read_text()) if p["image_id"] in ids]
    ap_infer = coco_keypoint_ap(sub, from_infer)["AP"]
    from_eval = json.loads(res_eval.read_text())

    def key(p: dict) -> tuple:
        return (p["image_id"], -p["score"], p["keypoints"][0])

    a, b = sorted(from_eval, key=key), sorted(from_infer, key=key)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x["image_id"] == y["image_id"] and abs(x["score"] - y["score"]) < 1e-4
        np.testing.assert_allclose(x["keypoints"], y["keypoints"], atol=2e-3)
    print(f"{weights.name}: eval AP {ap_eval:.4f}  infer AP {ap_infer:.4f}  ({len(a)} poses)")
    assert abs(ap_eval - ap_infer) <= 0.001
    return ap_eval, ap_infer, len(a)


def test_top_down_mobileposenet_shipped(tmp_path, capsys):
    weights = pretrained.shipped("mobileposenet")  # COCO-17 outputs (LSPET + face points)
    if weights is None:
        pytest.skip("mobileposenet's shipped weights are absent")
    config = _config(tmp_path, "mobileposenet", [256, 192], "heatmap-dark", "heatmap", "coco-mini", flip=True)
    ap, _, n = eval_vs_infer(tmp_path, config, weights, 20, capsys)
    assert n > 0 and ap > 0.1  # trained weights: a real AP, not a vacuous 0 == 0


def test_top_down_mobileposenet_coco_mini(tmp_path, capsys):
    config = _config(tmp_path, "mobileposenet", [256, 192], "heatmap-dark", "heatmap", "coco-mini", flip=False)
    eval_vs_infer(tmp_path, config, _random_weights(tmp_path, config), 12, capsys)


def test_bottom_up_litepose_xs_coco_mini(tmp_path, capsys):
    config = _config(tmp_path, "litepose_xs", [256, 256], "ae-multires", "ae", "coco-mini", flip=True)
    eval_vs_infer(tmp_path, config, _random_weights(tmp_path, config), 6, capsys)


def test_bottom_up_lw_openpose_coco_mini(tmp_path, capsys):
    config = _config(tmp_path, "lw_openpose", [368, 368], "openpose", "openpose", "coco-mini", flip=False)
    eval_vs_infer(tmp_path, config, _random_weights(tmp_path, config), 4, capsys)


def test_bottom_up_ghostpose_shipped_on_coco_mini(tmp_path, capsys):
    weights = pretrained.shipped("ghostpose")
    if weights is None:
        pytest.skip("ghostpose's shipped weights are absent")
    config = _config(tmp_path, "ghostpose", [368, 368], "openpose", "openpose", "coco-mini", flip=False)
    ap, _, n = eval_vs_infer(tmp_path, config, weights, 12, capsys)
    assert n > 0
