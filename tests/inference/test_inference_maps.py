"""Map-frame helpers: affine composition, map warping and the PAF mirror used by the flip test."""

from __future__ import annotations

import numpy as np

from featherpose.codecs import OpenPoseCodec
from featherpose.inference.maps import compose, inverse, limb_flip_index, mirror_pafs, pixel_scale, warp_maps
from featherpose.skeletons import COCO17, OPENPOSE18


def test_compose_inverse_and_pixel_scale():
    a = np.array([[2.0, 0.0, 3.0], [0.0, 0.5, -1.0]])
    np.testing.assert_allclose(compose(a, inverse(a)), np.eye(3)[:2], atol=1e-12)
    m = pixel_scale(0.25, 0.25)  # pixel centres: input pixels 0..3 average onto output pixel 0
    np.testing.assert_allclose(m @ [1.5, 1.5, 1.0], [0.0, 0.0])


def test_warp_maps_moves_a_peak_exactly():
    maps = np.zeros((3, 20, 30), np.float32)
    maps[:, 5, 7] = 1.0
    shift = np.array([[1.0, 0.0, -4.0], [0.0, 1.0, 2.0]])  # output (x, y) reads input (x - 4, y + 2)
    out = warp_maps(maps, shift, (20, 30))
    assert np.unravel_index(out[0].argmax(), out[0].shape) == (3, 11)


def test_limb_flip_index_is_an_involution():
    for ks in (COCO17, OPENPOSE18):
        idx = limb_flip_index(ks.limbs, ks.flip_index)
        assert [idx[i] for i in idx] == list(range(len(ks.limbs)))


def test_mirror_pafs_restores_the_unflipped_field():
    codec = OpenPoseCodec((128, 128), stride=8)
    rng = np.random.default_rng(3)
    kps = np.concatenate([rng.uniform(10, 117, (1, 18, 2)), np.ones((1, 18, 1))], -1).astype(np.float32)
    mirrored = kps.copy()
    mirrored[..., 0] = 127 - kps[..., 0]
    mirrored = mirrored[:, OPENPOSE18.flip_index]  # what a network sees in the mirrored image
    pafs = codec.encode(kps)["pafs"]
    flipped = codec.encode(mirrored)["pafs"]
    back = mirror_pafs(flipped, OPENPOSE18.limbs, OPENPOSE18.flip_index, codec.paf_channels)[..., ::-1]
    assert np.abs(pafs).sum() > 50
    assert np.mean(np.abs(back - pafs) > 1e-3) < 0.01  # equal up to rasterisation ties
