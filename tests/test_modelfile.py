"""The model-file schema (:mod:`featherpose.modelfile`): keypoint sets and metadata round-trip, exports
carry the same schema, weights files drive ``PoseEstimator`` alone, shipped weights are found."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from featherpose import pretrained
from featherpose.engine.checkpoint import CheckpointError, read_meta, save_weights, ship_weights
from featherpose.export import ExportInfo
from featherpose.inference import PoseEstimator
from featherpose.modelfile import (
    SCHEMA,
    ModelMeta,
    ModelMetaError,
    keypoint_set_from_dict,
    keypoint_set_to_dict,
)
from featherpose.models import build_model
from featherpose.skeletons import COCO17, CROWDPOSE14, KEYPOINT_SETS, OPENPOSE18, keypoint_set_from_coco_category

# LSPET's 14 joints as its COCO file declares them (1-based skeleton and flip pairs)
LSPET_CATEGORY = {
    "keypoints": ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
                  "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "head_top"],
    "skeleton": [[1, 2], [2, 3], [6, 5], [5, 4], [3, 4], [3, 9], [4, 10], [9, 10], [7, 8], [8, 9], [12, 11],
                 [11, 10], [9, 13], [10, 13], [13, 14]],
    "flip_pairs": [[6, 1], [5, 2], [4, 3], [12, 7], [11, 8], [10, 9]],
    "name": "person",
}  # fmt: skip
LSPET14 = keypoint_set_from_coco_category(LSPET_CATEGORY)


pytestmark = pytest.mark.usefixtures("one_thread")


def _meta(**kw: object) -> ModelMeta:
    base = ModelMeta.for_model("mobileposenet", input_size=(64, 48), keypoint_set=LSPET14, codec="heatmap-dark",
                               codec_args={"input_size": [64, 48], "sigma": 1.0}, model_args={"num_keypoints": 14},
                               provenance={"recipe": "configs/x.yaml", "epochs": 3, "step": 12, "score": 0.25,
                                           "metric": "AP", "note": "extra keys allowed"})  # fmt: skip
    return replace(base, **kw)


def test_keypoint_sets_roundtrip():
    for ks in KEYPOINT_SETS.values():  # built-in sets come back as the same object
        assert keypoint_set_from_dict(json.loads(json.dumps(keypoint_set_to_dict(ks)))) is ks
    back = keypoint_set_from_dict(json.loads(json.dumps(keypoint_set_to_dict(LSPET14))))
    assert back == LSPET14 and back.num_keypoints == 14 and back.limbs[2] == (5, 4)
    assert back.flip_index == LSPET14.flip_index and back.sigmas == LSPET14.sigmas
    renamed = replace(CROWDPOSE14, name="mine")
    assert keypoint_set_from_dict(keypoint_set_to_dict(renamed)) == renamed
    with pytest.raises(ModelMetaError, match="keypoint_set is malformed"):
        keypoint_set_from_dict({"name": "x"})


def test_meta_roundtrip_and_schema():
    meta = _meta()
    d = json.loads(meta.to_json())
    assert d["schema"] == SCHEMA == 1 and d["model"] == "mobileposenet" and d["paradigm"] == "top-down"
    assert d["codec"] == {"name": "heatmap-dark", "args": {"input_size": [64, 48], "sigma": 1.0}}
    assert d["input_size"] == [64, 48] and d["normalisation"]["order"] == "RGB"
    assert set(d) == {"schema", "model", "model_args", "family", "paradigm", "keypoint_set", "codec", "input_size",
                      "normalisation", "provenance"}  # fmt: skip
    assert ModelMeta.from_json(meta.to_json()) == meta
    with pytest.raises(ModelMetaError, match="schema 2 is newer"):
        ModelMeta.from_dict({**d, "schema": 2})
    with pytest.raises(ModelMetaError, match="lacks codec"):
        ModelMeta.from_dict({k: v for k, v in d.items() if k != "codec"})
    with pytest.raises(ModelMetaError, match="paradigm"):
        ModelMeta.from_dict({**d, "paradigm": "sideways"})
    with pytest.raises(ModelMetaError, match="not valid JSON"):
        ModelMeta.from_json("{nope")
    openpose = ModelMeta.for_model("lw_openpose", build_model("lw_openpose"))
    assert openpose.keypoint_set is OPENPOSE18 and openpose.codec == "openpose"
    assert openpose.normalisation.order == "BGR" and openpose.normalisation.mean == (128.0, 128.0, 128.0)
    assert ModelMeta.for_model("litepose_xs").codec == "ae-multires"


def test_meta_builds_network_and_codec():
    meta = _meta()
    net = meta.build()
    assert net(torch.zeros(1, 3, 64, 48)).shape[1] == 14
    codec = meta.make_codec()
    assert codec.refine == "dark" and codec.sigma == 1.0 and codec.input_size == (64, 48)
    assert meta.head_codec_args() == {"sigma": 1.0}
    assert meta.spec.input_size == (64, 48) and meta.spec.name == "mobileposenet"


def test_export_info_carries_the_schema():
    info = ExportInfo(_meta(), ("output_0",), False)
    d = json.loads(info.to_json())
    assert d["export"] == {"output_names": ["output_0"], "dynamic_spatial": False, "precision": "fp32"}
    back = ExportInfo.from_json(info.to_json())
    assert back == info and back.meta.keypoint_set == LSPET14
    assert (back.model, back.paradigm, back.keypoints, back.input_size) == ("mobileposenet", "top-down", "person",
                                                                           (64, 48))  # fmt: skip
    int8 = type(info)(**{**info.__dict__, "precision": "int8"})  # how featherpose.quantize re-labels a file
    assert ExportInfo.from_json(int8.to_json()).precision == "int8"
    # the flat form of earlier exports still reads, the rest from the zoo
    old = {"model": "litepose_xs", "paradigm": "bottom-up", "keypoints": "coco17", "input_size": [128, 128],
           "dynamic_spatial": True, "mean": [1.0, 2.0, 3.0], "std": [4.0, 5.0, 6.0], "channel_order": "RGB",
           "output_names": ["output_0", "output_1"], "precision": "fp32"}  # fmt: skip
    info = ExportInfo.from_json(json.dumps(old))
    assert info.meta.keypoint_set is COCO17 and info.meta.codec == "ae-multires" and info.mean == (1.0, 2.0, 3.0)
    assert info.output_names == ("output_0", "output_1") and info.dynamic_spatial


def test_weights_file_drives_the_estimator(tmp_path: Path, coco_mini: Path):
    meta = _meta()
    torch.manual_seed(0)
    net = meta.build()
    path = tmp_path / "run" / "best.safetensors"
    save_weights(net, path, meta)
    assert read_meta(path) == meta
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a weights file: no random-weights warning
        est = PoseEstimator(path, backend="torch", nms="none")
    assert est.keypoint_set == LSPET14 and est.output_keypoint_set == LSPET14
    assert est.codec.name == "heatmap-dark" and est.codec.sigma == 1.0
    assert est.input_size == (64, 64)  # 64 x 48 rounded up to the top-down stride 32
    image = coco_mini / "val2017" / "000000000139.jpg"
    poses = est(image, boxes=[[412.8, 157.6, 53.1, 138.0]])
    assert len(poses) == 1 and poses[0].keypoints.shape == (14, 3)
    same = PoseEstimator("mobileposenet", weights=path, backend="torch", nms="none")  # name + file: same
    np.testing.assert_array_equal(same(image, boxes=[[412.8, 157.6, 53.1, 138.0]])[0].keypoints, poses[0].keypoints)
    with pytest.raises(CheckpointError, match="does not fit model hr_litenet: it holds mobileposenet weights"):
        PoseEstimator("hr_litenet", weights=path, backend="torch")
    with pytest.raises(ValueError, match="do not pass weights"):
        PoseEstimator(path, weights=path, backend="torch")
    bare = tmp_path / "bare.safetensors"
    save_weights(net, bare)
    with pytest.raises(CheckpointError) as err:
        PoseEstimator(bare, backend="torch")
    assert str(err.value) == (f"weights {bare} carry no featherpose metadata: pass the model name "
                              f"(--model NAME --weights {bare})")  # fmt: skip


def test_shipped_weights_are_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    assert not pretrained.has_weights("mobileposenet")
    with pytest.warns(UserWarning, match="random weights"):
        PoseEstimator("mobileposenet", backend="torch", input_size=64)
    with pytest.raises(ValueError, match="no shipped weights 'lspet'"):
        PoseEstimator("mobileposenet", weights="lspet", backend="torch")
    meta = replace(_meta(), provenance={"data": "lspet"})
    torch.manual_seed(1)
    net = meta.build()
    ship_weights(net, tmp_path / pretrained.PRETRAINED["mobileposenet"]["lspet"], meta)
    assert pretrained.has_weights("mobileposenet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default = PoseEstimator("mobileposenet", backend="torch")
        tagged = PoseEstimator("mobileposenet", weights="lspet", backend="torch")
    for est in (default, tagged):
        assert est.keypoint_set == LSPET14 and est.weights == tmp_path / "mobileposenet-lspet.safetensors"
        for key, value in est.model.state_dict().items():  # fp16 on disk, upcast on load
            ref = net.state_dict()[key]
            assert value.dtype == ref.dtype
            if ref.is_floating_point():
                torch.testing.assert_close(value, ref.half().to(ref.dtype), rtol=0, atol=0)


def test_models_command_shows_shipped_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    from featherpose.cli import main

    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    assert main(["models", "--shipped"]) == 0
    assert "no shipped weights" in capsys.readouterr().out
    (tmp_path / "ghostpose-lspet.safetensors").write_bytes(b"")
    assert main(["models", "--shipped"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "shipped weights" in lines[0] and len(lines) == 3 and lines[2].startswith("ghostpose")
    assert lines[2].rstrip().endswith("lspet")
