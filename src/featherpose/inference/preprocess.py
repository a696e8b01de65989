"""Preprocessing for the estimator; it lives in :mod:`featherpose.preprocess` (shared with
:mod:`featherpose.deploy`). This module keeps the old import path."""

from featherpose.preprocess import (  # noqa: F401 (re-export)
    Normalisation,
    box_to_center_scale,
    crop_matrices,
    fit_image,
    get_warp_matrix,
    scaled_size,
    warp_crops,
)
