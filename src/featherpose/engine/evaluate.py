"""Validation for the trainer and ``featherpose eval``: COCO keypoint AP (pycocotools; top-down models
on ground-truth boxes or a detection-results file, bottom-up models on whole images) and MPII PCKh.

There is one prediction path: the model in memory is wrapped in the :class:`PoseEstimator` that
``featherpose infer`` runs (:func:`evaluation_estimator`), so the AP printed here is the AP of what
``infer`` outputs (docs/evaluation.md, "One prediction path")."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pycocotools.coco import COCO
from torch import nn

from featherpose.engine.config import TrainConfig
from featherpose.engine.datasets import image_folder, load_annotations
from featherpose.evaluation.coco import coco_keypoint_ap, load_coco
from featherpose.evaluation.pckh import head_size_from_boxes, head_size_from_joints, pckh
from featherpose.inference.estimator import PoseEstimator
from featherpose.inference.split import match_to_boxes, person_box, predict_split
from featherpose.modelfile import ModelMeta, training_meta
from featherpose.skeletons import KeypointSet


def flip_heatmaps(maps: torch.Tensor, flip_index: Sequence[int], shift: bool = True) -> torch.Tensor:
    """Heatmaps of a mirrored input back to the original frame: mirror, swap left/right channels and
    (without UDP) shift one pixel to the right, as in the classic flip test."""
    out = maps.flip(-1)[:, list(flip_index)]
    if shift:
        out = torch.cat([out[..., :1], out[..., :-1]], -1)
    return out


def evaluation_estimator(
    model: nn.Module, cfg: TrainConfig, codec: object, kset: KeypointSet, device: torch.device | str,
    flip: bool = False, boxes: str | Path | None = None, meta: ModelMeta | None = None, **options: object,
) -> PoseEstimator:  # fmt: skip
    """The :class:`PoseEstimator` that validation runs: ``model`` in memory, described by ``meta``
    (default :func:`featherpose.modelfile.training_meta`: the config's codec, input size and the
    model's own normalisation), flip test as asked, ``boxes``: a COCO detection-results file."""
    net = getattr(model, "module", model)  # DistributedDataParallel
    meta = meta or training_meta(cfg, kset, codec, net)
    return PoseEstimator.from_module(net, meta, input_size=tuple(meta.input_size), flip=flip, device=str(device),
                                     backend="torch", boxes_file=boxes, **options)  # fmt: skip


def evaluate(
    model: nn.Module, cfg: TrainConfig, codec: object, kset: KeypointSet, device: torch.device,
    split: str | None = None, flip: bool | None = None, max_images: int | None = None,
    boxes: str | Path | None = None, meta: ModelMeta | None = None, predictions: list | None = None,
) -> dict[str, float]:  # fmt: skip
    """Score ``model`` on the config's validation split: COCO AP (coco) or PCKh@0.5 (mpii), through
    the same :class:`PoseEstimator` that ``featherpose infer`` runs (preprocessing, flip test,
    decoding, pose score, OKS-NMS, OpenPose-18 -> COCO-17), top-down on the ground-truth boxes or
    on ``boxes`` (a COCO detection-results file), bottom-up on whole images.

    The returned dict always has ``score`` (the number best-checkpoint keeping maximises); MPII
    results name their head-size normaliser (``PCKh`` with official head boxes, ``PCKh_headseg``
    with the head-segment fallback). ``predictions``: a list that receives the COCO results."""
    split = split or cfg.eval.split
    flip = cfg.eval.flip if flip is None else flip
    max_images = cfg.eval.max_images if max_images is None else max_images
    was_training = model.training
    t0 = time.perf_counter()
    ann = load_annotations(cfg, split)
    records = ann.images[:max_images] if max_images else ann.images
    mpii = cfg.data.type == "mpii"
    try:
        est = evaluation_estimator(model, cfg, codec, kset, device, flip, boxes, meta,
                                   nms="none" if mpii else "parallel")  # fmt: skip
        with torch.no_grad():
            results, poses = predict_split(est, records, image_folder(cfg, split),
                                           category_id=getattr(ann, "category_id", 1))  # fmt: skip
    finally:
        model.train(was_training)
    if predictions is not None:
        predictions.extend(results)
    if mpii:
        metrics = _pckh_metrics(records, poses, kset, est.box_padding, cfg.data_path(cfg.data.val_ann
                                if split != "train" else cfg.data.train_ann))  # fmt: skip
    else:
        metrics = coco_keypoint_ap(_ground_truth(cfg, split, max_images), results)
        metrics["score"] = metrics["AP"]
    metrics["eval_seconds"] = round(time.perf_counter() - t0, 2)
    return metrics


def _pckh_metrics(records: list, poses: list, kset: KeypointSet, padding: float, ann_path: Path) -> dict:
    """PCKh@0.5 of the pose made from every person's box; the official head-box normaliser where the
    annotation file has head boxes, else the head segment (reported as ``PCKh_headseg``)."""
    k = kset.num_keypoints
    gt, pred = [], []
    for rec, found in zip(records, poses, strict=True):
        boxes = np.array([person_box(p, padding) for p in rec.persons]).reshape(-1, 4)
        for person, pose in zip(rec.persons, match_to_boxes(found, boxes), strict=True):
            gt.append(person.keypoints)
            pred.append(pose.keypoints[:, :2] if pose is not None else np.full((k, 2), -1e6))
    gt_a = np.stack(gt) if gt else np.zeros((0, k, 3))
    pr_a = np.stack(pred) if pred else np.zeros((0, k, 2))
    head_boxes = mpii_head_boxes(ann_path, records)
    if head_boxes is not None:
        res = pckh(pr_a, gt_a[..., :2], gt_a[..., 2], head_size_from_boxes(head_boxes), keypoint_set=kset)
        metrics = {"PCKh": float(res["mean"]), "PCKh_all": float(res["mean_all"])}
        metrics["score"] = metrics["PCKh"]
    else:
        res = pckh(pr_a, gt_a[..., :2], gt_a[..., 2], head_size_from_joints(gt_a, kset), keypoint_set=kset)
        metrics = {"PCKh_headseg": float(res["mean"]), "PCKh_headseg_all": float(res["mean_all"])}
        metrics["score"] = metrics["PCKh_headseg"]
    return metrics


def mpii_head_boxes(ann_path: str | Path, records: list) -> np.ndarray | None:
    """(N, 4) official head boxes ``[x1, y1, x2, y2]`` of the persons of ``records`` (in order), read
    from the annotation entries' ``headbox`` / ``head_box`` field (mmpose / HRNet take them from
    ``gt_valid.mat``'s ``headboxes_src``); None unless every person has one."""
    import json

    try:
        entries = json.loads(Path(ann_path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list):
        return None
    out = []
    for rec in records:
        for person in rec.persons:  # MPII: one record per entry, person id = entry index
            entry = entries[person.id] if 0 <= person.id < len(entries) else None
            hb = entry.get("headbox", entry.get("head_box")) if isinstance(entry, dict) else None
            if hb is None:
                return None
            out.append(np.asarray(hb, np.float64).reshape(4))
    return np.stack(out) if out else None


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
