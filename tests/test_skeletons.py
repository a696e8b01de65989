import json

import numpy as np
import pytest

from featherpose.skeletons import (
    COCO17,
    CROWDPOSE14,
    KEYPOINT_SETS,
    MPII16,
    OPENPOSE18,
    KeypointSet,
    coco_to_openpose,
    get_keypoint_set,
    infer_flip_pairs,
    keypoint_set_from_coco_category,
    openpose_to_coco,
)


def test_sizes():
    assert (len(COCO17), len(OPENPOSE18), len(MPII16), len(CROWDPOSE14)) == (17, 18, 16, 14)
    assert len(COCO17.limbs) == 19 and len(OPENPOSE18.limbs) == 19  # 19 limbs -> 38 PAF channels
    assert COCO17.sigmas[0] == pytest.approx(0.026) and COCO17.sigmas[11] == pytest.approx(0.107)


@pytest.mark.parametrize("kset", list(KEYPOINT_SETS.values()), ids=list(KEYPOINT_SETS))
def test_flip_pairs_mirror_names(kset):
    perm = kset.flip_index
    assert sorted(perm) == list(range(len(kset)))
    assert [perm[p] for p in perm] == list(range(len(kset)))  # flipping twice is the identity
    for a, b in kset.flip_pairs:
        na, nb = kset.keypoints[a], kset.keypoints[b]
        assert na.replace("left", "X").replace("right", "X") == nb.replace("left", "X").replace("right", "X")
    # every left_/right_ keypoint has its twin
    assert set(infer_flip_pairs(kset.keypoints)) == set(kset.flip_pairs)


def test_coco_matches_the_real_annotation_file(coco_mini):
    ann = json.loads((coco_mini / "annotations" / "person_keypoints_val2017.json").read_text())
    kset = keypoint_set_from_coco_category(ann["categories"][0])
    assert kset.keypoints == COCO17.keypoints
    assert set(kset.limbs) == set(COCO17.limbs)
    assert kset.flip_pairs == COCO17.flip_pairs
    assert kset.sigmas == COCO17.sigmas
    assert kset.name == "coco17"


def test_crowdpose_fixture_category(crowdpose_fixtures):
    ann = json.loads((crowdpose_fixtures / "test_crowdpose.json").read_text())
    cat = dict(ann["categories"][0])
    cat.pop("skeleton")  # the fixture ships COCO's skeleton, which does not fit 14 keypoints
    kset = keypoint_set_from_coco_category(cat)
    assert kset.keypoints == CROWDPOSE14.keypoints and kset.flip_pairs == CROWDPOSE14.flip_pairs


def test_custom_category_roundtrip():
    cat = {
        "keypoints": ["head", "l_hand", "r_hand", "tail"],
        "skeleton": [[1, 2], [1, 3], [1, 4]],
        "flip_pairs": [[2, 3]],
        "sigmas": [0.1, 0.2, 0.2, 0.3],
    }
    kset = keypoint_set_from_coco_category(cat, name="critter")
    assert kset.limbs == ((0, 1), (0, 2), (0, 3)) and kset.flip_pairs == ((1, 2),)
    assert kset.flip_index == [0, 2, 1, 3]
    again = keypoint_set_from_coco_category(kset.to_coco_category(), name="critter")
    assert again == kset
    # flip pairs inferred from l_/r_ names when the field is absent; default sigmas
    inferred = keypoint_set_from_coco_category({"keypoints": cat["keypoints"], "skeleton": []})
    assert inferred.flip_pairs == ((1, 2),) and inferred.sigmas == (0.05,) * 4


@pytest.mark.parametrize(
    "cat, message",
    [
        ({}, "no 'keypoints'"),
        ({"keypoints": []}, "empty"),
        ({"keypoints": ["a", "b"], "skeleton": [[1, 3]]}, "out of range"),
        ({"keypoints": ["a", "b"], "skeleton": [[1]]}, "pairs"),
        ({"keypoints": ["a", "b"], "sigmas": [0.1]}, "1 sigmas for 2"),
        ({"keypoints": ["a", "a"]}, "duplicate"),
    ],
)
def test_bad_categories(cat, message):
    with pytest.raises(ValueError, match=message):
        keypoint_set_from_coco_category(cat)


def test_unknown_set():
    with pytest.raises(ValueError, match="unknown keypoint set"):
        get_keypoint_set("coco18")
    assert get_keypoint_set(COCO17) is COCO17


def test_coco_openpose_conversion():
    rng = np.random.default_rng(0)
    kp = np.concatenate([rng.uniform(0, 100, (4, 17, 2)), rng.integers(0, 3, (4, 17, 1))], axis=-1)
    kp[0, 5, 2] = 2
    kp[0, 6, 2] = 2
    kp[1, 5, 2] = 0
    kp[1, 6, 2] = 2
    op = coco_to_openpose(kp)
    assert op.shape == (4, 18, 3)
    np.testing.assert_allclose(op[0, 1, :2], (kp[0, 5, :2] + kp[0, 6, :2]) / 2)
    assert op[0, 1, 2] == 2
    assert op[1, 1, 2] == 0  # one shoulder missing: no neck
    # names line up after conversion
    for i, name in enumerate(OPENPOSE18.keypoints):
        if name != "neck":
            np.testing.assert_array_equal(op[:, i], kp[:, COCO17.index(name)])
    np.testing.assert_array_equal(openpose_to_coco(op), kp)
    with pytest.raises(ValueError, match="17 COCO"):
        coco_to_openpose(np.zeros((18, 3)))


def test_keypoint_set_validation():
    with pytest.raises(ValueError, match="two flip pairs"):
        KeypointSet("x", ("a", "b", "c"), (), ((0, 1), (1, 2)))
