"""Datasets (COCO-format, MPII), augmentation and top-down / bottom-up sample builders."""

from featherpose.data.bottomup import BottomUpAugment, BottomUpDataset, bottomup_matrix
from featherpose.data.coco import CocoKeypoints
from featherpose.data.errors import AnnotationError, ImageError
from featherpose.data.image import ImageCache, read_image
from featherpose.data.mpii import MpiiKeypoints
from featherpose.data.records import ImageRecord, PersonAnnotation
from featherpose.data.sampling import sample_rng
from featherpose.data.synthetic import SyntheticDataset
from featherpose.data.topdown import TopDownAugment, TopDownDataset, person_center_scale, topdown_sample
from featherpose.data.transforms import to_image_coords

__all__ = [
    "AnnotationError",
    "BottomUpAugment",
    "BottomUpDataset",
    "CocoKeypoints",
    "ImageCache",
    "ImageError",
    "ImageRecord",
    "MpiiKeypoints",
    "PersonAnnotation",
    "SyntheticDataset",
    "TopDownAugment",
    "TopDownDataset",
    "bottomup_matrix",
    "person_center_scale",
    "read_image",
    "sample_rng",
    "to_image_coords",
    "topdown_sample",
]
