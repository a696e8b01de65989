"""featherpose: lightweight 2D human pose estimation.

Public API::

    import featherpose
    featherpose.list_models()
    model = featherpose.build_model("mobileposenet", num_keypoints=17)
    featherpose.complexity(model, (256, 192))
    estimator = featherpose.PoseEstimator("litepose_xs", weights="runs/lp/last.safetensors")
    poses = estimator("photo.jpg")
"""

from featherpose.complexity import Complexity, complexity
from featherpose.inference import Pose, PoseEstimator
from featherpose.models import ModelSpec, build_model, get_spec, list_models
from featherpose.skeletons import COCO17, CROWDPOSE14, MPII16, OPENPOSE18, KeypointSet, get_keypoint_set

__version__ = "0.1.0"

__all__ = [
    "COCO17",
    "CROWDPOSE14",
    "MPII16",
    "OPENPOSE18",
    "Complexity",
    "KeypointSet",
    "ModelSpec",
    "Pose",
    "PoseEstimator",
    "__version__",
    "build_model",
    "complexity",
    "get_keypoint_set",
    "get_spec",
    "list_models",
]
