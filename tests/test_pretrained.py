"""The weights shipped inside the package (``featherpose.pretrained``): every registered file is there,
describes itself fully, loads strictly, and finds people on a real photo it never saw in training
(the bundled COCO val2017 #349860; the weights saw LSPET and coco-mini *train*2017). Needs no
../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from featherpose import pretrained
from featherpose.codecs import CODECS
from featherpose.data.transforms import Normalisation
from featherpose.engine.checkpoint import read_meta
from featherpose.engine.config import load_config
from featherpose.inference import PoseEstimator
from featherpose.inference.demo import DEMO_PHOTO
from featherpose.inference.weights import load_model
from featherpose.modelfile import META_KEY, SCHEMA
from featherpose.models import get_spec
from featherpose.skeletons import COCO17

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [(model, tag) for model, tags in pretrained.PRETRAINED.items() for tag in tags]

# What each shipped file must say about itself: (paradigm, keypoint set, codec, input size, channel order).
EXPECTED = {
    "mobileposenet": ("top-down", "coco17", "heatmap-dark", (256, 192), "RGB"),
    "ghostpose": ("bottom-up", "openpose18", "openpose", (256, 256), "BGR"),
}

# The COCO val2017 ground truth of the skateboarder in the bundled photo (annotation 488820 of
# person_keypoints_val2017.json: x, y, visibility per COCO-17 keypoint, and its segment area).
GT_KEYPOINTS = np.array([
    363, 37, 2, 367, 31, 2, 357, 32, 2, 374, 37, 2, 348, 40, 2, 380, 71, 2, 330, 69, 2, 407, 98, 2, 317, 104, 2,
    442, 95, 2, 304, 138, 2, 369, 147, 1, 333, 146, 2, 404, 102, 2, 360, 75, 2, 425, 173, 1, 369, 128, 1,
], np.float64).reshape(17, 3)  # fmt: skip
GT_AREA = 9747.7059


pytestmark = pytest.mark.usefixtures("one_thread")


def oks(keypoints: np.ndarray) -> float:
    """COCO's object keypoint similarity of a predicted COCO-17 pose with the ground truth above (a
    keypoint the prediction does not have, score 0, counts 0)."""
    kp = np.asarray(keypoints, np.float64)
    d2 = ((kp[:, :2] - GT_KEYPOINTS[:, :2]) ** 2).sum(1)
    k2 = (2 * np.asarray(COCO17.sigmas)) ** 2
    sim = np.exp(-d2 / k2 / (GT_AREA + np.spacing(1)) / 2) * (kp[:, 2] > 0)
    return float(sim[GT_KEYPOINTS[:, 2] > 0].mean())


def test_the_registry_is_consistent():
    assert SHIPPED, "no shipped weights registered"
    assert pretrained.DEFAULT_MODEL in pretrained.PRETRAINED and pretrained.DEFAULT_DETECTOR in pretrained.PRETRAINED
    assert get_spec(pretrained.DEFAULT_MODEL).paradigm == "top-down"
    assert get_spec(pretrained.DEFAULT_DETECTOR).paradigm == "bottom-up"
    registered = {f for tags in pretrained.PRETRAINED.values() for f in tags.values()}
    assert {p.name for p in pretrained.WEIGHTS_DIR.glob("*.safetensors")} == registered  # nothing stray, none lost
    for model, tag in SHIPPED:
        assert pretrained.resolve(model, tag) == pretrained.shipped(model, tag) == pretrained.available(model)[tag]
    with pytest.raises(ValueError, match="no shipped weights 'nope'"):
        pretrained.shipped(pretrained.DEFAULT_MODEL, "nope")


@pytest.mark.parametrize(("model", "tag"), SHIPPED)
def test_shipped_file_describes_itself(model, tag):
    path = pretrained.shipped(model, tag)
    assert path is not None and path.name == f"{model}-{tag}.safetensors", f"{model}/{tag}: file missing"
    meta = read_meta(path)
    assert meta is not None, f"{path.name} has no '{META_KEY}' metadata"
    paradigm, keypoints, codec, size, order = EXPECTED[model]
    spec = get_spec(model)
    assert meta.schema == SCHEMA and meta.model == model and meta.family == spec.family
    assert meta.paradigm == paradigm == spec.paradigm
    assert meta.keypoint_set is spec.keypoint_set and meta.keypoint_set.name == keypoints  # the built-in set itself
    assert meta.codec == codec and codec in CODECS and meta.make_codec() is not None
    assert tuple(meta.input_size) == size
    net, loaded = load_model(path)  # strict: every tensor of the network, nothing else
    assert loaded == meta
    assert meta.normalisation == Normalisation.for_model(net) and meta.normalisation.order == order
    with safe_open(str(path), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert dtypes <= {"F16", "I64"}, f"{path.name}: shipped floats are fp16, got {dtypes}"

    prov = meta.provenance
    for key in ("recipe", "data", "hardware"):
        assert isinstance(prov.get(key), str) and prov[key].strip(), f"{path.name}: provenance lacks {key!r}"
    assert "LSPET" in prov["data"]
    recipe = REPO / prov["recipe"]
    if recipe.parent.is_dir():  # a checkout (an installed package has no configs/)
        cfg = load_config(recipe)
        assert cfg.model.name == model and cfg.codec.name == codec and tuple(cfg.input_size) == size


@pytest.fixture(scope="module")
def photo() -> Path:
    assert DEMO_PHOTO.is_file(), f"the bundled photo {DEMO_PHOTO} is missing"
    return DEMO_PHOTO


@pytest.mark.parametrize(("model", "tag"), SHIPPED)
def test_shipped_weights_find_the_skateboarder(model, tag, photo):
    est = PoseEstimator(model, weights=tag, backend="torch")  # top-down: boxes from the default detector
    assert est.weights == pretrained.shipped(model, tag)
    poses = est(photo)
    assert poses, f"{model}/{tag}: no pose on the photo"
    assert est.output_keypoint_set is COCO17
    best = max(poses, key=lambda p: oks(p.keypoints))
    found = int((best.keypoints[:, 2] >= 0.3).sum())
    if est.paradigm == "top-down":
        assert est.detector.weights == pretrained.shipped(pretrained.DEFAULT_DETECTOR)
    if model == pretrained.DEFAULT_MODEL:  # the default pipeline: a good pose (measured: 15 keypoints, OKS 0.72)
        assert found >= 10 and oks(best.keypoints) >= 0.5
    else:  # at least one pose, on the person (ghostpose measured: OKS 0.63)
        assert oks(best.keypoints) >= 0.3


def test_default_pipeline_is_what_a_name_alone_gives(photo):
    est = PoseEstimator(pretrained.DEFAULT_MODEL, backend="torch")
    assert est.weights == pretrained.shipped(pretrained.DEFAULT_MODEL)
    assert est.detector.name == pretrained.DEFAULT_DETECTOR
    assert est.detector.weights == pretrained.shipped(pretrained.DEFAULT_DETECTOR)


@pytest.mark.parametrize(("model", "tag"), SHIPPED)
def test_shipped_weights_export_to_the_same_poses(model, tag, photo, tmp_path):
    """Trained (peaked) maps: the ONNX export of a shipped file gives the torch poses within 1e-3 px."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from featherpose.cli import main

    onnx_file = tmp_path / f"{model}.onnx"
    assert main(["export", "--model", str(pretrained.shipped(model, tag)), "--format", "onnx", "--out",
                 str(onnx_file)]) == 0  # fmt: skip
    torch_est = PoseEstimator(model, weights=tag, backend="torch")
    onnx_est = PoseEstimator(str(onnx_file), backend="onnxruntime")
    boxes = None
    if torch_est.paradigm == "top-down":  # the same boxes for both: the detector's
        boxes = np.array([p.box for p in torch_est.detector(photo) if min(p.box[2:]) > 1])
    a, b = torch_est(photo, boxes=boxes), onnx_est(photo, boxes=boxes)
    assert len(a) == len(b) >= 1
    for pa, pb in zip(a, b, strict=True):
        found = (pa.keypoints[:, 2] > 0) & (pb.keypoints[:, 2] > 0)
        assert np.abs(pa.keypoints[found, :2] - pb.keypoints[found, :2]).max() <= 1e-3
        assert abs(pa.score - pb.score) <= 1e-4


@pytest.mark.parametrize(("model", "tag"), SHIPPED)
def test_shipped_int8_ir_is_what_auto_runs_and_finds_the_skateboarder(model, tag, photo):
    """With OpenVINO, ``backend="auto"`` / ``precision="auto"`` runs a shipped model from its shipped INT8
    IR (the detector too); anything explicit runs the float network; the INT8 poses stay close to fp32."""
    pytest.importorskip("openvino")
    from featherpose.deploy.files import read_info

    irs = {f for tags in pretrained.PRETRAINED_INT8.values() for f in tags.values()}
    assert {p.name for p in pretrained.WEIGHTS_DIR.glob("*.xml")} == irs  # nothing stray, none lost
    ir = pretrained.shipped_int8(model, tag)
    assert ir is not None and ir.name == f"{model}-{tag}-int8.xml" and ir.with_suffix(".bin").is_file()
    info = read_info(ir)
    assert info is not None and info.meta.model == model  # self-describing, like the safetensors
    auto = PoseEstimator(model, weights=tag)
    assert auto.weights is None and auto.model is None and auto.precision == "auto"
    assert getattr(auto.predictor.runner, "precision", None) == "int8"
    for explicit in ({"precision": "fp32"}, {"backend": "openvino"}, {"input_size": 256}):
        assert PoseEstimator(model, weights=tag, **explicit).weights == pretrained.shipped(model, tag)
    fp32 = PoseEstimator(model, weights=tag, precision="fp32")
    best_int8 = max(oks(p.keypoints) for p in auto(photo))
    best_fp32 = max(oks(p.keypoints) for p in fp32(photo))
    assert best_int8 >= best_fp32 - 0.1, (best_int8, best_fp32)
    if model == pretrained.DEFAULT_MODEL:
        assert getattr(auto.detector.predictor.runner, "precision", None) == "int8"
        assert best_int8 >= 0.5
