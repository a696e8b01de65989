"""The whole crop / resize -> network -> decode -> inverse-transform chain, checked end to end.

The network is replaced by a "perfect" one: it recognises each input among the inputs the test
computes itself (with the data pipeline's transforms, not the estimator's) and returns the maps
the codec encodes from the COCO ground truth. The estimator must then give back the ground-truth
keypoints in image pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from featherpose.codecs import AssociativeEmbeddingCodec, HeatmapCodec, OpenPoseCodec
from featherpose.data.transforms import affine_points, box_to_center_scale, get_warp_matrix
from featherpose.inference import PoseEstimator
from featherpose.skeletons import COCO17, OPENPOSE18, coco_to_openpose

pytestmark = pytest.mark.filterwarnings("ignore:.*random weights")


def _signature(x: np.ndarray) -> np.ndarray:
    """Channel-order-invariant fingerprint of a (3, H, W) or (H, W, 3) input: per-channel z-scores summed."""
    x = np.asarray(x, np.float64)
    if x.shape[0] != 3:
        x = x.transpose(2, 0, 1)
    z = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), keepdims=True) + 1e-6)
    return z.sum(0)


class PerfectRunner:
    """A stand-in network: picks the candidate input nearest to each batch item, returns its maps."""

    def __init__(self) -> None:
        self.candidates: list[tuple[np.ndarray, list[np.ndarray]]] = []
        self.seen = 0

    def add(self, image: np.ndarray, maps: list[np.ndarray]) -> None:
        self.candidates.append((_signature(image), maps))

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        picked = []
        for x in batch:
            sig = _signature(x)
            dist = [np.abs(sig - c).mean() if c.shape == sig.shape else np.inf for c, _ in self.candidates]
            assert min(dist) < 0.05, f"input not recognised (distance {min(dist):.3f})"
            picked.append(self.candidates[int(np.argmin(dist))][1])
        self.seen += len(batch)
        return [np.stack([p[j] for p in picked]) for j in range(len(picked[0]))]


def _people(val_people: dict, name: str, min_kpts: int = 10) -> tuple:
    """The well-annotated persons of an image: >= ``min_kpts`` visible keypoints, all inside the box
    (a few COCO boxes miss limbs; no crop-based method recovers keypoints outside its crop)."""
    path, people = val_people[name]
    chosen = []
    for k, b in people:
        vis = k[:, 2] > 0
        inside = (
            (k[vis, 0] >= b[0] - 2)
            & (k[vis, 0] <= b[0] + b[2] + 2)
            & (k[vis, 1] >= b[1] - 2)
            & (k[vis, 1] <= b[1] + b[3] + 2)
        )
        if vis.sum() >= min_kpts and inside.all():
            chosen.append((k, b))
    return path, chosen


def _errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    vis = gt[:, 2] > 0
    return np.hypot(*(pred[vis, :2] - gt[vis, :2]).T)


# Padding 1.6 keeps the extreme keypoints > 6 heatmap pixels from the crop border, where DARK's
# blur (and so the codec, not the chain under test) loses accuracy. Tolerances are in network-input
# pixels: the quarter-pixel decoder is exact to 1/4 heatmap pixel per axis = sqrt(2) input pixels at stride 4.
@pytest.mark.parametrize(
    ("codec", "flip", "scales", "tol"),
    [("heatmap", False, (1.0,), 1.45), ("heatmap-dark", True, (1.0, 1.2), 0.1), ("udp", True, (1.0,), 0.1)],
)
def test_top_down_ground_truth_roundtrip(val_people, top_down_model, codec, flip, scales, tol):
    path, people = _people(val_people, "000000350679.jpg")
    assert len(people) >= 2
    image = cv2.imread(str(path))
    input_size, padding = (256, 192), 1.6
    udp = codec == "udp"
    enc = HeatmapCodec(input_size, (64, 48), sigma=2.0, unbiased=True, udp=udp)
    runner = PerfectRunner()
    views = [(s, f) for f in ((False, True) if flip else (False,)) for s in scales]
    for kps, box in people:
        center, size = box_to_center_scale(box, input_size[1] / input_size[0], padding)
        for scale, mirrored in views:
            m = get_warp_matrix(center, size * scale, 0.0, input_size, udp=udp, flip=mirrored)
            crop = cv2.warpAffine(image, m, (input_size[1], input_size[0]), flags=cv2.INTER_LINEAR)
            pts = affine_points(kps, m)
            if mirrored:  # the mirrored person's "left" channel shows the original right keypoint
                pts = pts[COCO17.flip_index]
            runner.add(crop, [enc.encode(pts)[0]])
    est = PoseEstimator(
        top_down_model,
        backend=runner,
        input_size=input_size,
        flip=flip,
        scales=scales,
        codec=codec,
        box_padding=padding,
    )
    poses = est(path, boxes=[b for _, b in people])
    assert runner.seen == len(people) * len(views)  # every crop went through the network once
    assert len(poses) == len(people)
    worst = worst_px = 0.0
    for kps, box in people:
        pose = min(poses, key=lambda p: np.abs(np.subtract(p.box, box)).sum())
        err = _errors(pose.keypoints, kps)
        image_px_per_input_px = box_to_center_scale(box, input_size[1] / input_size[0], padding)[1][0] / input_size[1]
        worst = max(worst, float(err.max() / image_px_per_input_px))
        worst_px = max(worst_px, float(err.max()))
        assert 0.5 < pose.score <= 1.0  # box score 1 x keypoint scores 1, decayed by parallel OKS-NMS
        assert (pose.keypoints[kps[:, 2] > 0, 2] > 0.9).all()
    print(f"top-down {codec} flip={flip} scales={scales}: worst error {worst_px:.3f} image px = {worst:.3f} input px")
    assert worst < tol


def _fit(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Independent re-statement of the bottom-up input (the training samples' warp): scale by
    f = min(H / h, W / w) about pixel centres, top-left, zero pad, one bilinear warpAffine."""
    h, w = image.shape[:2]
    f = min(size[0] / h, size[1] / w)
    m = np.array([[f, 0, 0.5 * f - 0.5], [0, f, 0.5 * f - 0.5]])
    out = cv2.warpAffine(image, m, (size[1], size[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return out, m


def _rule_size(image_hw: tuple[int, int], rule: str, size: tuple[int, int], divisor: int) -> tuple[int, int]:
    """Independent re-statement of the bottom-up test scale: ``fit`` keeps the square input; the
    short side (``short_side``) or the height (``height``) becomes the input size, the other side
    follows the image, both rounded up to the stride."""
    if rule == "fit":
        return size
    h, w = image_hw
    f = size[0] / h if rule == "height" else min(size) / min(h, w)
    return tuple(int(np.ceil(round(v * f) / divisor) * divisor) for v in (h, w))  # type: ignore[return-value]


def _mirror(img: np.ndarray, m: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    m2 = m.copy()
    m2[0] = -m[0]
    m2[0, 2] += width - 1
    return np.ascontiguousarray(img[:, ::-1]), m2


def _check_bottom_up(poses, people, tol) -> float:
    worst = 0.0
    for kps, _ in people:
        errs = [np.median(_errors(p.keypoints, kps)) for p in poses]
        best = poses[int(np.argmin(errs))]
        err = _errors(best.keypoints, kps)
        worst = max(worst, float(err.max()))
    assert worst < tol, worst
    return worst


@pytest.mark.parametrize("test_scale", ["fit", "short_side"])
@pytest.mark.parametrize("flip", [False, True])
def test_bottom_up_ae_ground_truth_roundtrip(val_people, ae_model, flip, test_scale):
    path, people = _people(val_people, "000000397133.jpg")
    image = cv2.imread(str(path))
    size = _rule_size(image.shape[:2], test_scale, (256, 256), 32)
    codec = AssociativeEmbeddingCodec(size, strides=(4, 2), sigma=2.0)
    runner = PerfectRunner()
    inp, m = _fit(image, size)
    for mirrored in (False, True) if flip else (False,):
        x, mm = _mirror(inp, m, size[1]) if mirrored else (inp, m)
        kps = np.stack([affine_points(k, mm) for k, _ in people])
        if mirrored:
            kps = kps[:, COCO17.flip_index]
        enc = codec.encode(kps)
        tags = codec.render_tags(kps)
        runner.add(x, [np.concatenate([enc["heatmaps"][0], tags]), enc["heatmaps"][1]])
    est = PoseEstimator(ae_model, backend=runner, input_size=(256, 256), flip=flip, test_scale=test_scale)
    poses = est(path)
    assert runner.seen == (2 if flip else 1)
    worst = _check_bottom_up(poses, people, tol=3.0)
    print(f"bottom-up AE flip={flip} {test_scale} {size}: worst keypoint error {worst:.3f} px")


@pytest.mark.parametrize("test_scale", ["fit", "height"])
@pytest.mark.parametrize("flip", [False, True])
def test_bottom_up_openpose_ground_truth_roundtrip(val_people, flip, test_scale):
    path, people = _people(val_people, "000000397133.jpg")
    image = cv2.imread(str(path))
    size = _rule_size(image.shape[:2], test_scale, (256, 256), 8)
    codec = OpenPoseCodec(size, stride=8, sigma=7.0, paf_width=1.0)
    runner = PerfectRunner()
    inp, m = _fit(image, size)
    for mirrored in (False, True) if flip else (False,):
        x, mm = _mirror(inp, m, size[1]) if mirrored else (inp, m)
        kps = coco_to_openpose(np.stack([affine_points(k, mm) for k, _ in people]))
        if mirrored:
            kps = kps[:, OPENPOSE18.flip_index]
        enc = codec.encode(kps)
        runner.add(x, [enc["heatmaps"], enc["pafs"]])
    est = PoseEstimator("lw_openpose", backend=runner, input_size=(256, 256), flip=flip, test_scale=test_scale)
    poses = est(path)
    assert runner.seen == (2 if flip else 1)
    assert all(p.keypoints.shape == (17, 3) for p in poses)  # converted back to COCO-17
    worst = _check_bottom_up(poses, people, tol=4.0)
    print(f"bottom-up OpenPose flip={flip} {test_scale} {size}: worst keypoint error {worst:.3f} px")
