"""Inference: :class:`PoseEstimator` (image -> poses), the :class:`Pose` and :class:`Result` result
types, the backend hook (:class:`Runner`, ``RUNNERS``, ``register_runner``) and :func:`demo_image`."""

from featherpose.deploy import backends  # noqa: F401  (registers the onnxruntime / openvino / auto backends)
from featherpose.preprocess import parse_input_size

from .boxes import image_id_from_name, load_detections
from .demo import demo_image
from .estimator import PoseEstimator
from .maps import MapLayer
from .pose import Pose, box_from_keypoints
from .result import Result
from .runner import RUNNERS, Runner, TorchRunner, make_runner, register_runner
from .timing import StageTimer

__all__ = [
    "RUNNERS",
    "MapLayer",
    "Pose",
    "PoseEstimator",
    "Result",
    "Runner",
    "StageTimer",
    "TorchRunner",
    "box_from_keypoints",
    "demo_image",
    "image_id_from_name",
    "load_detections",
    "make_runner",
    "parse_input_size",
    "register_runner",
]
