"""The codec contract (featherpose.codecs.base.Codec): every codec implements it, and nothing outside
codecs/ branches on codec classes."""

import re
from pathlib import Path

import numpy as np
import pytest

import featherpose.codecs as codecs_pkg
from featherpose.codecs import CODECS, Codec, codec_for_model, get_codec
from featherpose.skeletons import COCO17, OPENPOSE18

MEMBERS = ("name", "paradigm", "input_size", "stride", "divisor", "udp", "keypoint_set", "adopt_keypoint_set",
           "prepare_keypoints", "encode", "render_outputs", "split", "unflip", "decode", "at_size")  # fmt: skip


def _persons(size: tuple[int, int]) -> np.ndarray:
    """Two COCO-17 persons well inside an input of ``size`` (H, W), every keypoint labelled."""
    h, w = size
    rng = np.random.default_rng(0)
    base = np.stack([np.full(17, 0.5), np.linspace(0.15, 0.85, 17)], -1)
    spread = rng.uniform(-0.08, 0.08, (17, 2))
    out = []
    for cx in (0.28, 0.72):
        xy = (base + spread) * (w, h)
        xy[:, 0] += (cx - 0.5) * w
        out.append(np.concatenate([xy, np.full((17, 1), 2.0)], -1))
    return np.stack(out).astype(np.float32)


def _codec(name: str) -> Codec:
    size = (256, 192) if get_codec(name).paradigm == "top-down" else (256, 256)
    codec = get_codec(name, input_size=size)
    codec.adopt_keypoint_set(COCO17)
    return codec


@pytest.mark.parametrize("name", list(CODECS))
def test_codec_has_every_member(name):
    codec = _codec(name)
    assert isinstance(codec, Codec)
    for member in MEMBERS:
        assert hasattr(codec, member), f"{name} lacks {member}"
    assert codec.name == name and codec.paradigm in ("top-down", "bottom-up")
    assert codec.input_size[0] % codec.stride == 0 and codec.divisor >= codec.stride
    assert codec.keypoint_set is not None
    assert codec.at_size(codec.input_size) is codec


@pytest.mark.parametrize("name", list(CODECS))
def test_split_and_decode_of_the_rendered_outputs_round_trip(name):
    codec = _codec(name)
    persons = _persons(codec.input_size)
    if codec.paradigm == "top-down":
        kps = codec.prepare_keypoints(persons[0], COCO17)
        outputs = [o[None] for o in codec.render_outputs(kps)]
        maps = codec.split(outputs)
        xy, scores = codec.decode(maps)
        assert xy.shape == (1, 17, 2) and np.all(scores > 0.5)
        np.testing.assert_allclose(xy[0], kps[:, :2], atol=codec.stride / 2 + 0.5)
        return
    kps = codec.prepare_keypoints(persons, COCO17)
    outputs = [o[None] for o in codec.render_outputs(kps)]
    maps = codec.split(outputs)
    (found,) = codec.decode(maps)
    assert len(found) == 2
    for person in kps:
        labelled = person[:, 2] > 0
        err = [np.abs(f[labelled] - person[labelled, :2]).max() for f in found.keypoints]
        assert min(err) < codec.stride / 2 + 0.5


@pytest.mark.parametrize("name", list(CODECS))
def test_unflip_twice_is_the_identity(name):
    codec = _codec(name)
    kps = _persons(codec.input_size)
    kps = codec.prepare_keypoints(kps[0] if codec.paradigm == "top-down" else kps, COCO17)
    maps = codec.split([o[None] for o in codec.render_outputs(kps)])
    back = codec.unflip(codec.unflip(maps))
    assert back.keys() == maps.keys()
    for key in maps:
        np.testing.assert_array_equal(back[key], maps[key])


def test_codec_for_model_picks_by_paradigm_and_keypoint_set():
    assert codec_for_model("x", "top-down", COCO17, "udp").udp
    assert codec_for_model("openpose", "bottom-up", OPENPOSE18, "openpose-hungarian").matching == "hungarian"
    ae = codec_for_model("litepose", "bottom-up", COCO17, "heatmap", input_size=(128, 128))
    assert ae.name == "ae-multires" and ae.input_size == (128, 128) and ae.keypoint_set is COCO17


def test_no_isinstance_on_codec_classes_outside_codecs():
    src = Path(codecs_pkg.__file__).resolve().parents[1]
    classes = "|".join(["HeatmapCodec", "OpenPoseCodec", "AssociativeEmbeddingCodec", r"\w*Codec\b"])
    pattern = re.compile(rf"isinstance\([^)]*\b({classes})")
    found = []
    for path in sorted(src.rglob("*.py")):
        if "codecs" in path.relative_to(src).parts[:1]:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not re.search(r"isinstance\([^)]*,\s*Codec\)", line):
                found.append(f"{path.relative_to(src)}:{lineno}: {line.strip()}")
    assert not found, "branch on the codec contract, not on codec classes:\n" + "\n".join(found)
