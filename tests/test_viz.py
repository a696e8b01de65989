"""Drawing poses (limb colours, score as opacity) and rendering raw output maps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from featherpose.inference import MapLayer, Pose
from featherpose.skeletons import COCO17
from featherpose.viz import draw_poses, paf_to_bgr, palette, render_maps, save_maps

IMAGE = "val2017/000000397133.jpg"


def _pose(score: float) -> Pose:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0], kp[:, 1], kp[:, 2] = 200.0, np.linspace(100, 300, 17), score
    kp[5], kp[7] = (150, 150, score), (250, 150, score)  # left shoulder -> left elbow: horizontal limb
    return Pose(kp, score, (150.0, 100.0, 100.0, 200.0), track_id=3)


def test_palette_is_distinct():
    colors = palette(len(COCO17.limbs))
    assert len(set(colors)) == len(COCO17.limbs)


def test_limbs_drawn_with_score_as_opacity(coco_mini):
    image = cv2.imread(str(coco_mini / IMAGE))
    limb = COCO17.limbs.index((5, 7))
    color = np.array(palette(len(COCO17.limbs))[limb], float)
    at = (150, 175)  # (y, x) on the limb, away from the other limbs and the keypoint dots
    full = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False)
    half = draw_poses(image, [_pose(0.5)], COCO17, show_ids=False)
    none = draw_poses(image, [_pose(0.0)], COCO17)
    np.testing.assert_allclose(full[at], color, atol=2)
    np.testing.assert_allclose(half[at], 0.5 * color + 0.5 * image[at], atol=3)
    np.testing.assert_array_equal(none, image)  # nothing under the score threshold
    assert not np.shares_memory(full, image)
    ids = draw_poses(image, [_pose(1.0)], COCO17, show_ids=True)
    assert (ids[80:100, 150:180] != full[80:100, 150:180]).any()  # the track id label


def test_paf_direction_colours():
    pafs = np.zeros((2, 4, 4), np.float32)
    pafs[0, 0, 0] = 1.0  # +x
    pafs[1, 1, 1] = 1.0  # +y (down)
    bgr, mag = paf_to_bgr(pafs)
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    assert hsv[0, 0, 0] == 0 and hsv[1, 1, 0] == 45  # hue = angle / 2 (OpenCV's 0..180 hue)
    assert mag[0, 0] == 1.0 and mag[2, 2] == 0.0


def test_heatmap_rendered_where_the_matrix_puts_it(coco_mini, tmp_path):
    image = cv2.imread(str(coco_mini / IMAGE))
    heat = np.zeros((2, 32, 24), np.float32)
    heat[1, 10, 6] = 1.0
    heat[1] = cv2.GaussianBlur(heat[1], (7, 7), 1.5)
    heat[1] /= heat[1].max()
    # map pixel (u, v) = ((x - 100) / 4, (y - 50) / 4): the peak lands on image (124, 90)
    layer = MapLayer("heatmaps", heat, np.array([[0.25, 0, -25.0], [0, 0.25, -12.5]]))
    out = render_maps(image, [layer], "heatmaps")
    diff = np.abs(out.astype(int) - image).sum(-1)
    ys, xs = np.nonzero(diff)
    assert abs(xs.mean() - 124) <= 1 and abs(ys.mean() - 90) <= 1  # centre of the (symmetric) blob
    assert diff[:, 300:].max() == 0  # nothing drawn outside the crop
    paths = save_maps(image, [layer, MapLayer("pafs", np.ones((2, 8, 8), np.float32), np.eye(3)[:2] / 10)],
                      tmp_path, "img")  # fmt: skip
    assert [p.name for p in paths] == ["img_heatmaps.jpg", "img_pafs.jpg"]
    assert cv2.imread(str(paths[0])).shape == image.shape
    with pytest.raises(ValueError, match="kind"):
        render_maps(image, [MapLayer("bogus", heat, layer.matrix)], "bogus")


def test_draw_options(coco_mini):
    """Every drawing option changes the picture as documented; ``options=`` equals the keywords."""
    from featherpose.viz import PERSON_COLORS, SIDE_COLORS, DrawOptions, limb_colors

    image = cv2.imread(str(coco_mini / IMAGE))
    at = (150, 175)  # on the left shoulder -> left elbow limb
    base = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False)
    side = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False, colors="side")
    np.testing.assert_allclose(side[at], SIDE_COLORS["left"], atol=2)
    sides = limb_colors(COCO17, "side")
    assert sides[COCO17.limbs.index((6, 8))] == SIDE_COLORS["right"]
    assert sides[COCO17.limbs.index((5, 6))] == SIDE_COLORS["centre"]  # shoulder to shoulder
    person = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False, colors="person")
    np.testing.assert_allclose(person[at], palette(PERSON_COLORS)[3 % PERSON_COLORS], atol=2)  # track id 3
    np.testing.assert_array_equal(draw_poses(image, [_pose(0.9)], COCO17, kpt_thr=0.95), image)
    assert (draw_poses(image, [_pose(0.9)], COCO17, kpt_thr=0.85) != image).any()
    boxed = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False, show_boxes=True)
    assert (boxed[100, 160:240] != base[100, 160:240]).any() and (boxed[250, 150] != base[250, 150]).any()
    thin = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False, thickness=1, radius=0)
    thick = draw_poses(image, [_pose(1.0)], COCO17, show_ids=False, thickness=5, radius=8)
    assert (thin != image).any(-1).sum() < (base != image).any(-1).sum() < (thick != image).any(-1).sum()
    opts = DrawOptions(kpt_thr=0.2, thickness=3, radius=2, show_ids=True, show_boxes=True, colors="side")
    np.testing.assert_array_equal(
        draw_poses(image, [_pose(1.0)], COCO17, options=opts),
        draw_poses(image, [_pose(1.0)], COCO17, 0.2, 3, True, True, radius=2, colors="side"),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"kpt_thr": 1.5}, "keypoint threshold must be in"), ({"thickness": 0}, "thickness must be >= 1"),
     ({"radius": -1}, "radius must be >= 0"), ({"colors": "rainbow"}, "unknown colour scheme 'rainbow'")],
)  # fmt: skip
def test_bad_draw_options(kwargs, message):
    from featherpose.viz import DrawOptions

    with pytest.raises(ValueError, match=message):
        DrawOptions(**kwargs)
