"""Evaluation: COCO keypoint AP (pycocotools), results files, and MPII PCKh."""

from featherpose.evaluation.coco import (
    ResultsFileError,
    as_coco,
    coco_keypoint_ap,
    load_coco,
    load_results,
    save_results,
    validate_results,
)
from featherpose.evaluation.pckh import head_size_from_boxes, head_size_from_joints, mpii_pckh, pckh

__all__ = [
    "ResultsFileError",
    "as_coco",
    "coco_keypoint_ap",
    "head_size_from_boxes",
    "head_size_from_joints",
    "load_coco",
    "load_results",
    "mpii_pckh",
    "pckh",
    "save_results",
    "validate_results",
]
