"""Datasets (COCO-format, MPII), augmentation and top-down / bottom-up sample builders."""

from featherpose.data.bottomup import BottomUpAugment, BottomUpDataset
from featherpose.data.coco import CocoKeypoints
from featherpose.data.errors import AnnotationError, ImageError
from featherpose.data.image import read_image
from featherpose.data.mpii import MpiiKeypoints
from featherpose.data.records import ImageRecord, PersonAnnotation
from featherpose.data.topdown import TopDownAugment, TopDownDataset, topdown_sample
from featherpose.data.transforms import to_image_coords

__all__ = [
    "AnnotationError",
    "BottomUpAugment",
    "BottomUpDataset",
    "CocoKeypoints",
    "ImageError",
    "ImageRecord",
    "MpiiKeypoints",
    "PersonAnnotation",
    "TopDownAugment",
    "TopDownDataset",
    "read_image",
    "to_image_coords",
    "topdown_sample",
]
