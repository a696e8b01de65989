"""Codec encode/decode on real annotations, plus decoder properties on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from featherpose.codecs import CODECS, AssociativeEmbeddingCodec, HeatmapCodec, OpenPoseCodec, get_codec
from featherpose.data import CocoKeypoints
from featherpose.data.transforms import affine_points, box_to_center_scale, fit_matrix, get_warp_matrix


def _crop_keypoints(coco_mini, udp: bool) -> np.ndarray:
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    out = []
    for _, p in data.person_samples():
        c, s = box_to_center_scale(p.bbox, 192 / 256)
        out.append(affine_points(p.keypoints, get_warp_matrix(c, s, 0.0, (256, 192), udp=udp)))
    return np.stack(out)


def test_heatmap_decoders_ranked_by_error(coco_mini):
    errors = {}
    for name in ("heatmap-argmax", "heatmap", "heatmap-dark", "udp"):
        codec = get_codec(name)
        kps = _crop_keypoints(coco_mini, codec.udp)
        heat, weights = codec.encode(kps)
        assert heat.shape == (len(kps), 17, 64, 48)
        pred, scores = codec.decode(torch.from_numpy(heat))  # torch input works
        use = weights > 0
        errors[name] = float(np.linalg.norm(pred[use] - kps[use, :2], axis=-1).mean())
        assert np.mean(scores[use] > 0.5) > 0.95 and (scores[~use] == 0).all()
    assert errors["heatmap"] <= errors["heatmap-argmax"]  # MSRA rounds the centre: the shift has no sign
    kps = _crop_keypoints(coco_mini, False)
    heat, weights = get_codec("heatmap-dark").encode(kps)  # exact centres: the quarter shift now helps
    use = weights > 0
    err = {r: np.linalg.norm(HeatmapCodec(refine=r).decode(heat)[0][use] - kps[use, :2], axis=-1).mean()
           for r in ("none", "quarter")}  # fmt: skip
    assert err["quarter"] < err["none"]
    assert errors["heatmap-dark"] < 0.5 * errors["heatmap"]
    assert errors["udp"] < 0.5 * errors["heatmap"]


def _scene(coco_mini, size):
    data = CocoKeypoints(coco_mini / "annotations" / "person_keypoints_val2017.json")
    rec = max(data.images, key=lambda r: len(r.persons))
    m, _ = fit_matrix(rec.width, rec.height, size)
    kps = affine_points(rec.keypoints(), m)
    kps[kps[..., 2] <= 0, :2] = 0
    return data, kps


@pytest.mark.parametrize("matching", ["greedy", "hungarian"])
def test_openpose_round_trip_on_crowded_image(coco_mini, matching):
    codec = OpenPoseCodec(matching=matching)
    data, kps = _scene(coco_mini, codec.input_size)
    op = codec.prepare_keypoints(kps, data.keypoint_set)
    t = codec.encode(op)
    assert t["heatmaps"].shape == (19, 46, 46) and t["pafs"].shape == (38, 46, 46)
    assert np.abs(t["pafs"]).max() <= 1.0 + 1e-6
    poses = codec.decode(t["heatmaps"][None], torch.from_numpy(t["pafs"][None]))[0]
    assert len(poses) >= len(op) // 2
    # each labelled keypoint is decoded within 1 input pixel somewhere
    found = poses.keypoints[poses.keypoint_scores > 0]
    labelled = op[op[..., 2] > 0][:, :2]
    d = np.linalg.norm(labelled[:, None] - found[None], axis=-1).min(1)
    assert np.mean(d < 1.0) > 0.95


def test_associative_embedding_groups_by_tag(coco_mini):
    codec = AssociativeEmbeddingCodec(input_size=(256, 256), strides=(4, 2))
    _, kps = _scene(coco_mini, codec.input_size)
    t = codec.encode(kps)
    tags = codec.render_tags(kps)
    poses = codec.decode([h[None] for h in t["heatmaps"]], tags[None])[0]
    # persons whose keypoints all decode within 1.5 px of one ground-truth person
    good = 0
    for p in range(len(kps)):
        vis = kps[p, :, 2] > 0
        d = np.linalg.norm(poses.keypoints[:, vis] - kps[p, vis, :2], axis=-1)
        good += int((d.max(1) < 1.5).any())
    assert good >= 0.8 * len(kps)
    agg = codec.aggregate([h[None] for h in t["heatmaps"]])
    assert agg.shape == (1, 17, 128, 128)


def test_get_codec_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown codec 'nope'"):
        get_codec("nope")


def _maps(c_min: int, c_max: int):
    return st.tuples(st.integers(1, 2), st.integers(c_min, c_max), st.integers(3, 20), st.integers(3, 20)).flatmap(
        lambda s: arrays(np.float32, s, elements=st.floats(-0.5, 1.5, width=32))
    )


@settings(max_examples=25, deadline=None)
@given(heat=_maps(1, 5), name=st.sampled_from([n for n in CODECS if isinstance(get_codec(n), HeatmapCodec)]))
def test_heatmap_decoders_on_random_maps(heat, name):
    n, k, h, w = heat.shape
    codec = get_codec(name, input_size=(4 * h, 4 * w), heatmap_size=(h, w))
    kps, scores = codec.decode(heat)
    assert kps.shape == (n, k, 2) and scores.shape == (n, k)
    assert np.isfinite(kps).all()
    assert (kps[..., 0] >= 0).all() and (kps[..., 0] <= 4 * w - 1).all()
    assert (kps[..., 1] >= 0).all() and (kps[..., 1] <= 4 * h - 1).all()
    assert ((scores >= 0) & (scores <= 1)).all()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    h=st.integers(2, 12),
    w=st.integers(2, 12),
    matching=st.sampled_from(["greedy", "hungarian"]),
    upsample=st.sampled_from([1, 2]),
)
def test_openpose_decoder_on_random_maps(seed, h, w, matching, upsample):
    rng = np.random.default_rng(seed)
    codec = OpenPoseCodec(matching=matching, upsample=upsample)
    heat = rng.uniform(0, 1, (1, 19, h, w)).astype(np.float32)
    pafs = rng.uniform(-1, 1, (1, 38, h, w)).astype(np.float32)
    for poses in codec.decode(heat, pafs):
        assert poses.keypoints.shape[1:] == (18, 2)
        found = poses.keypoint_scores > 0
        xy = poses.keypoints[found]
        assert ((xy >= -0.5) & (xy <= np.array([8 * w, 8 * h]) - 0.5)).all()
        assert ((poses.keypoint_scores >= 0) & (poses.keypoint_scores <= 1)).all()
        assert ((poses.scores >= 0) & (poses.scores <= 1)).all()
        ids = poses.keypoints[found]
        assert len(ids) == found.sum()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), h=st.integers(2, 10), w=st.integers(2, 10), multires=st.booleans())
def test_associative_embedding_decoder_on_random_maps(seed, h, w, multires):
    rng = np.random.default_rng(seed)
    k = 17
    codec = AssociativeEmbeddingCodec(input_size=(4 * h, 4 * w), strides=(4, 2) if multires else (4,))
    heats = [rng.uniform(0, 1, (2, k, h * 4 // s, w * 4 // s)).astype(np.float32) for s in codec.strides]
    tags = rng.normal(0, 3, (2, k, h, w)).astype(np.float32)
    for poses in codec.decode([torch.from_numpy(x) for x in heats], tags):
        assert len(poses) <= codec.max_people
        found = poses.keypoint_scores > 0
        xy = poses.keypoints[found]
        assert ((xy >= -0.5) & (xy <= np.array([4 * w, 4 * h]) - 0.5)).all()
        assert ((poses.keypoint_scores >= 0) & (poses.keypoint_scores <= 1)).all()
        assert ((poses.scores >= 0) & (poses.scores <= 1)).all()


@settings(max_examples=25, deadline=None)
@given(heat=_maps(1, 4), kernel=st.sampled_from([3, 5]), cross=st.booleans())
def test_find_peaks_matches_scipy_maximum_filter(heat, kernel, cross):
    from scipy.ndimage import maximum_filter

    from featherpose.codecs.common import find_peaks

    maps = np.round(heat[0] * 4) / 4  # plateaus: ties must count as peaks on both sides
    foot = np.ones((1, kernel, kernel), bool)
    if cross:
        foot[:] = False
        foot[0, kernel // 2, :] = foot[0, :, kernel // 2] = True
    pooled = maximum_filter(maps, footprint=foot, mode="constant", cval=-np.inf)
    expected = np.nonzero((maps == pooled) & (maps > 0.1))
    got = find_peaks(maps, 0.1, kernel, cross)
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), na=st.integers(0, 7), nb=st.integers(0, 7))
def test_greedy_match_equals_sequential_greedy(seed, na, nb):
    from featherpose.codecs.paf_grouping import greedy_match

    rng = np.random.default_rng(seed)
    sc = rng.uniform(0, 1, (na, nb))
    sc[rng.uniform(0, 1, (na, nb)) < 0.3] = -np.inf
    used_a, used_b, expected = set(), set(), set()
    for f in np.argsort(-sc, axis=None):
        a, b = divmod(int(f), nb)
        if np.isfinite(sc[a, b]) and a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            expected.add((a, b))
    rows, cols = greedy_match(sc)
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == expected


def test_impute_neck_from_hips_or_head():
    from featherpose.codecs.openpose import impute_neck

    kp = np.zeros((3, 18, 3), np.float32)
    kp[:, 2] = (10, 20, 2)  # right shoulder only
    kp[0, 8], kp[0, 11] = (12, 60, 2), (32, 60, 2)  # both hips: hip vector (20, 0) x 1.5 / 2
    kp[1, 0], kp[1, 14], kp[1, 15] = (25, 5, 2), (20, 0, 2), (30, 0, 2)  # nose + eyes: head axis x = 25
    out = impute_neck(kp)
    assert np.allclose(out[0, 1], (25, 20, 2)) and np.allclose(out[1, 1], (25, 20, 2))
    assert out[2, 1, 2] == 0  # nothing to estimate it from


def test_openpose_pafs_use_the_reference_channel_layout():
    """Limb r_shoulder -> r_elbow is BODY_PARTS_PAF_IDS[2] = channels (14, 15) in the reference code and
    in Intel's OMZ models; featherpose writes (and reads) it there, so their weights decode unchanged."""
    from featherpose.codecs.openpose import OpenPoseCodec
    from featherpose.skeletons import OPENPOSE18

    codec = OpenPoseCodec(input_size=(64, 64), neck="both")
    kp = np.zeros((1, 18, 3), np.float32)
    sho, elb = OPENPOSE18.index("right_shoulder"), OPENPOSE18.index("right_elbow")
    assert OPENPOSE18.limbs[2] == (sho, elb)
    kp[0, sho] = (16, 32, 2)
    kp[0, elb] = (48, 32, 2)  # pointing along +x
    pafs = codec.encode(kp)["pafs"]
    assert pafs[14].max() == pytest.approx(1.0) and np.abs(pafs[15]).max() == 0.0
    assert np.abs(np.delete(pafs, [14, 15], axis=0)).max() == 0.0


def test_resize_maps_handles_more_channels_than_opencv_takes_at_once():
    """OpenCV 5 resizes at most 128 channels per call; batches of LitePose maps have more (32 x 17)."""
    from featherpose.codecs.common import resize_maps

    maps = np.random.default_rng(0).random((300, 8, 6)).astype(np.float32)
    out = resize_maps(maps, (16, 12))
    assert out.shape == (300, 16, 12)
    np.testing.assert_allclose(out[299], resize_maps(maps[299:], (16, 12))[0], atol=1e-6)
