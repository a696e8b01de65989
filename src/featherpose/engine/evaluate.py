"""Validation for the trainer and ``featherpose eval``: COCO keypoint AP (pycocotools; top-down models
on ground-truth boxes, bottom-up models on whole images) and MPII PCKh."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence

import numpy as np
import torch
from pycocotools.coco import COCO
from torch import nn

from featherpose.codecs import AssociativeEmbeddingCodec, HeatmapCodec, OpenPoseCodec
from featherpose.data.bottomup import bottomup_matrix
from featherpose.data.image import ImageCache
from featherpose.data.topdown import topdown_sample
from featherpose.data.transforms import (
    normalize_image,
    to_image_coords,
    warp_image,
)
from featherpose.engine.config import TrainConfig
from featherpose.engine.datasets import image_folder, load_annotations
from featherpose.evaluation.coco import coco_keypoint_ap, load_coco
from featherpose.evaluation.pckh import head_size_from_joints, pckh
from featherpose.skeletons import KeypointSet, openpose_to_coco

KEYPOINT_SCORE_THRESHOLD = 0.2


def _forward_heatmaps(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    return out[-1] if isinstance(out, list | tuple) else out


def flip_heatmaps(maps: torch.Tensor, flip_index: Sequence[int], shift: bool = True) -> torch.Tensor:
    """Heatmaps of a mirrored input back to the original frame: mirror, swap left/right channels and
    (without UDP) shift one pixel to the right, as in the classic flip test."""
    out = maps.flip(-1)[:, list(flip_index)]
    if shift:
        out = torch.cat([out[..., :1], out[..., :-1]], -1)
    return out


@torch.no_grad()
def predict_top_down(
    model: nn.Module, cfg: TrainConfig, codec: HeatmapCodec, kset: KeypointSet, device: torch.device,
    split: str, flip: bool = False, batch_size: int = 32, max_images: int = 0,
) -> tuple[list[dict], list[tuple]]:  # fmt: skip
    """Run a top-down model on every labelled person's ground-truth box of ``split``.

    Returns COCO-format results and, per person, (image record, person, predicted (K, 3))."""
    ann = load_annotations(cfg, split)
    images = ImageCache(image_folder(cfg, split))
    records = ann.images[:max_images] if max_images else ann.images
    samples = [(r, p) for r in records for p in r.persons]
    size = tuple(cfg.input_size)
    results, preds = [], []
    for start in range(0, len(samples), batch_size):
        chunk = samples[start : start + batch_size]
        crops, mats = [], []
        for rec, person in chunk:
            crop, _, meta = topdown_sample(images(rec.file_name), person, kset, size, udp=codec.udp)
            crops.append(normalize_image(crop))
            mats.append(meta["warp"])
        x = torch.stack(crops).to(device)
        hm = _forward_heatmaps(model, x).float()
        if flip:
            mirrored = _forward_heatmaps(model, x.flip(-1)).float()
            hm = 0.5 * (hm + flip_heatmaps(mirrored, kset.flip_index, shift=not codec.udp))
        xy, scores = codec.decode(hm.cpu())
        for (rec, person), m, kxy, ks in zip(chunk, mats, xy, scores, strict=True):
            img_xy = to_image_coords(kxy, m)
            kp = np.concatenate([img_xy, ks[:, None]], 1)
            good = ks > KEYPOINT_SCORE_THRESHOLD
            score = float(ks[good].mean()) if good.any() else 0.0
            results.append({"image_id": rec.id, "category_id": getattr(ann, "category_id", 1),
                            "keypoints": kp.reshape(-1).round(2).tolist(), "score": score})  # fmt: skip
            preds.append((rec, person, kp))
    return results, preds


@torch.no_grad()
def predict_bottom_up(
    model: nn.Module, cfg: TrainConfig, codec: object, device: torch.device, split: str, max_images: int = 0
) -> list[dict]:
    """Run a bottom-up model on whole images (fitted into ``input_size``); COCO-format results."""
    ann = load_annotations(cfg, split)
    images = ImageCache(image_folder(cfg, split))
    records = ann.images[:max_images] if max_images else ann.images
    size = tuple(cfg.input_size)
    results = []
    for rec in records:
        img = images(rec.file_name)
        m, _ = bottomup_matrix(img.shape[1], img.shape[0], size, None)
        x = normalize_image(warp_image(img, m, size))[None].to(device)
        out = model(x)
        if isinstance(codec, AssociativeEmbeddingCodec):
            outs = [out] if isinstance(out, torch.Tensor) else list(out)
            k = codec.keypoint_set.num_keypoints
            heatmaps = [outs[0][:, :k].float().cpu()] + [o[:, :k].float().cpu() for o in outs[1:]]
            poses = codec.decode(heatmaps, outs[0][:, k : 2 * k].float().cpu())[0]
        elif isinstance(codec, OpenPoseCodec):
            poses = codec.decode(out[-2].float().cpu(), out[-1].float().cpu())[0]
        else:
            raise ValueError(f"codec {type(codec).__name__} is not a bottom-up codec")
        kps = np.concatenate([to_image_coords(poses.keypoints, m), poses.keypoint_scores[..., None]], -1)
        if isinstance(codec, OpenPoseCodec):
            kps = openpose_to_coco(kps)
        for person, score in zip(kps, poses.scores, strict=True):
            results.append({"image_id": rec.id, "category_id": getattr(ann, "category_id", 1),
                            "keypoints": person.reshape(-1).round(2).tolist(), "score": float(score)})  # fmt: skip
    return results


def evaluate(
    model: nn.Module, cfg: TrainConfig, codec: object, kset: KeypointSet, device: torch.device,
    split: str | None = None, flip: bool | None = None, max_images: int | None = None,
) -> dict[str, float]:  # fmt: skip
    """Score ``model`` on the config's validation split: COCO AP (coco) or PCKh@0.5 (mpii).

    The returned dict always has ``score`` (the number best-checkpoint keeping maximises)."""
    split = split or cfg.eval.split
    flip = cfg.eval.flip if flip is None else flip
    max_images = cfg.eval.max_images if max_images is None else max_images
    was_training = model.training
    model.eval()
    t0 = time.perf_counter()
    try:
        if isinstance(codec, HeatmapCodec):
            results, preds = predict_top_down(model, cfg, codec, kset, device, split, flip, max_images=max_images)
            if cfg.data.type == "mpii":
                gt = np.stack([p.keypoints for _, p, _ in preds]) if preds else np.zeros((0, kset.num_keypoints, 3))
                pr = np.stack([kp[:, :2] for _, _, kp in preds]) if preds else np.zeros((0, kset.num_keypoints, 2))
                res = pckh(pr, gt[..., :2], gt[..., 2], head_size_from_joints(gt, kset), keypoint_set=kset)
                metrics = {"PCKh": float(res["mean"]), "PCKh_all": float(res["mean_all"])}
                metrics["score"] = metrics["PCKh"]
            else:
                metrics = coco_keypoint_ap(_ground_truth(cfg, split, max_images), results)
                metrics["score"] = metrics["AP"]
        else:
            results = predict_bottom_up(model, cfg, codec, device, split, max_images)
            metrics = coco_keypoint_ap(_ground_truth(cfg, split, max_images), results)
            metrics["score"] = metrics["AP"]
    finally:
        model.train(was_training)
    metrics["eval_seconds"] = round(time.perf_counter() - t0, 2)
    return metrics


def _ground_truth(cfg: TrainConfig, split: str, max_images: int = 0) -> COCO:
    """The split's COCO ground truth, cut to the first ``max_images`` images when asked (so that a
    partial evaluation is not penalised for the images it skipped)."""
    coco = load_coco(cfg.data_path(cfg.data.train_ann if split == "train" else cfg.data.val_ann))
    if not max_images:
        return coco
    ids = {im["id"] for im in coco.dataset["images"][:max_images]}
    sub = COCO()
    sub.dataset = {**coco.dataset, "images": [im for im in coco.dataset["images"] if im["id"] in ids],
                   "annotations": [a for a in coco.dataset["annotations"] if a["image_id"] in ids]}  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        sub.createIndex()
    return sub
