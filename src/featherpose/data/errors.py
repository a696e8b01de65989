"""Exceptions for bad input data: one line naming the file and what is wrong."""

from __future__ import annotations


class AnnotationError(ValueError):
    """A malformed annotation file (bad JSON, missing field, wrong keypoint count, ...)."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"annotation file {path}: {problem}")
        self.path = path
        self.problem = problem


class ImageError(OSError):
    """An image that is missing or cannot be decoded."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"image {path}: {problem}")
        self.path = path
        self.problem = problem
