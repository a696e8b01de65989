"""Each loss against a value computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from featherpose.losses import (
    AssociativeEmbeddingLoss,
    TopDownHeatmapLoss,
    ae_loss,
    heatmap_mse,
    heatmap_weight,
    openpose_loss,
)


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    # N=1, K=2, H=1, W=2
    pred = torch.tensor([[[[0.5, 0.0]], [[1.0, 1.0]]]])
    target = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    return pred, target


def test_heatmap_mse_with_keypoint_weights() -> None:
    pred, target = _pair()
    # squared errors: k0 [0.25, 0], k1 [1, 0]; k1 weighted out -> 0.25 / 4 elements
    assert heatmap_mse(pred, target, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(0.0625)
    assert heatmap_mse(pred, target).item() == pytest.approx(1.25 / 4)


def test_heatmap_mse_with_ignore_mask() -> None:
    pred, target = _pair()
    mask = torch.tensor([[[0.0, 1.0]]])  # ignore the first pixel of every channel
    assert heatmap_mse(pred, target, mask=mask).item() == pytest.approx(0.0)


def test_heatmap_weight_formula() -> None:
    # tau = 0.5, H = 0.25 -> H^tau = 0.5; P = 0.2: W = 0.2 * 0.5 + 0.8 * 0.5 = 0.5
    w = heatmap_weight(torch.tensor([0.2]), torch.tensor([0.25]), tau=0.5)
    assert w.item() == pytest.approx(0.5)
    # paper tau = 0.01: negatives (H = 0) weigh |P|, positives (H = 1) weigh |1 - P|
    w = heatmap_weight(torch.tensor([-0.3, 0.3, 1.4]), torch.tensor([0.0, 1.0, 1.0]))
    assert w.tolist() == pytest.approx([0.3, 0.7, 0.4])
    # a Gaussian tail of 1e-4 is already "positive": H^0.01 = 0.912
    w = heatmap_weight(torch.tensor([0.0]), torch.tensor([1e-4]))
    assert w.item() == pytest.approx(10 ** (-0.04), rel=1e-5)


def test_weighted_heatmap_loss() -> None:
    pred, target = _pair()
    # k0: P=.5,H=1 -> W=.5, err .25 -> .125; P=0,H=0 -> 0. k1: P=1,H=0 -> W=1, err 1 -> 1; P=1,H=1 -> err 0
    loss, parts = TopDownHeatmapLoss(weighted=True)(pred, {"heatmaps": target})
    assert loss.item() == pytest.approx(1.125 / 4, rel=1e-5)
    assert parts["heatmap"].item() == pytest.approx(loss.item())


def test_ae_loss_pull_and_push() -> None:
    tags = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]], [[5.0, 6.0, 7.0, 8.0]]]])  # N=1, K=2, 1x4 map
    joints = torch.tensor(
        [[
            [[0, 1], [0, 1]],  # person 0: tags 1 and 5 -> mean 3, pull ((-2)^2 + 2^2) / 2 = 4
            [[3, 1], [0, 0]],  # person 1: tag 4 only -> mean 4, pull 0
            [[0, 0], [0, 0]],  # padding: no visible joint
        ]]
    )  # fmt: skip
    pull, push = ae_loss(tags, joints)
    assert pull.item() == pytest.approx(2.0)
    # two ordered pairs with |3 - 4| = 1: 2 e^-1 / (2 * 1) / 2
    assert push.item() == pytest.approx(0.5 * math.exp(-1.0))


def test_ae_loss_single_person_has_no_push() -> None:
    tags = torch.zeros(2, 1, 1, 2, requires_grad=True)
    joints = torch.tensor([[[[1, 1]]], [[[0, 0]]]])
    pull, push = ae_loss(tags, joints)
    assert pull.item() == 0.0 and push.item() == 0.0
    (pull + push).backward()  # empty images still give a graph


def test_associative_embedding_composite() -> None:
    k = 1
    quarter = torch.tensor([[[[0.5, 0.0]], [[1.0, 3.0]]]])  # 1 heatmap + 1 tag channel
    half = torch.tensor([[[[1.0, 1.0, 0.0, 0.0]]]])
    targets = {
        "heatmaps_0": torch.tensor([[[[1.0, 0.0]]]]), "masks_0": torch.ones(1, 1, 2),
        "heatmaps_1": torch.zeros(1, 1, 1, 4), "masks_1": torch.tensor([[[1.0, 0.0, 1.0, 1.0]]]),
        "joints": torch.tensor([[[[0, 1]], [[1, 1]]]]),  # two persons, tags 1 and 3
    }  # fmt: skip
    loss, parts = AssociativeEmbeddingLoss(k, pull_factor=1.0, push_factor=1.0)((quarter, half), targets)
    assert parts["heatmap_0"].item() == pytest.approx(0.25 / 2)
    assert parts["heatmap_1"].item() == pytest.approx(1.0 / 4)  # second pixel masked out
    assert parts["pull"].item() == 0.0
    assert parts["push"].item() == pytest.approx(0.5 * math.exp(-4.0), rel=1e-5)
    assert loss.item() == pytest.approx(0.125 + 0.25 + 0.5 * math.exp(-4.0))


def test_openpose_loss_every_stage_masked() -> None:
    hm_t, paf_t = torch.tensor([[[[1.0, 0.0]]]]), torch.tensor([[[[0.0, 0.0]], [[1.0, 1.0]]]])
    mask = torch.tensor([[[1.0, 0.0]]])
    outputs = [
        torch.tensor([[[[0.0, 5.0]]]]), torch.tensor([[[[1.0, 9.0]], [[1.0, 9.0]]]]),  # stage 0
        torch.tensor([[[[0.5, 5.0]]]]), torch.tensor([[[[0.0, 9.0]], [[0.0, 9.0]]]]),  # stage 1
    ]  # fmt: skip
    total, parts = openpose_loss(outputs, hm_t, paf_t, mask)
    # stage 0: hm (1)^2/2 = .5, paf (1^2 + 0)/2 = .5; stage 1: hm .25/2, paf (0 + 1)/2
    assert parts["heatmap_0"].item() == pytest.approx(0.5)
    assert parts["paf_0"].item() == pytest.approx(0.5)
    assert parts["heatmap_1"].item() == pytest.approx(0.125)
    assert parts["paf_1"].item() == pytest.approx(0.5)
    assert total.item() == pytest.approx(1.625)
    with pytest.raises(ValueError, match="alternate"):
        openpose_loss(outputs[:3], hm_t, paf_t, mask)
