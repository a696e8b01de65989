"""Training losses: heatmap MSE (optionally heatmap-weighted, paper 004), associative-embedding
pull/push, OpenPose multi-stage masked L2, and the per-family composites the trainer uses.

Every composite loss is called as ``loss(outputs, targets) -> (total, parts)`` where ``parts`` is a
dict of detached scalars for logging.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def heatmap_weight(pred: Tensor, target: Tensor, tau: float = 0.01) -> Tensor:
    """Paper 004, eq. (4): W = |P| (1 - H^tau) + |1 - P| H^tau (element-wise).

    With tau = 0.01 every pixel whose target exceeds ~1e-30 counts as "positive" (weight ~|1 - P|)
    and only true zeros as "negative" (weight |P|). The weight is part of the graph, as written.
    """
    h_tau = target.clamp(min=0).pow(tau)
    return pred.abs() * (1.0 - h_tau) + (1.0 - pred).abs() * h_tau


def heatmap_mse(
    pred: Tensor,
    target: Tensor,
    keypoint_weights: Tensor | None = None,
    mask: Tensor | None = None,
    weighted: bool = False,
    tau: float = 0.01,
) -> Tensor:
    """Mean squared error over (N, K, H, W) heatmaps.

    ``keypoint_weights`` (N, K) scales each keypoint's map (0 = unlabeled); ``mask`` (N, H, W)
    zeroes ignored pixels (bottom-up crowd regions). ``weighted=True`` multiplies the squared error
    by the heatmap weight W of paper 004 (eq. 2). The result is the plain mean over all elements,
    so a fully-weighted loss equals ``F.mse_loss``.
    """
    err = (pred - target) ** 2
    if weighted:
        err = heatmap_weight(pred, target, tau) * err
    if keypoint_weights is not None:
        err = err * keypoint_weights[:, :, None, None]
    if mask is not None:
        err = err * mask[:, None]
    return err.mean()


def ae_loss(tags: Tensor, joints: Tensor) -> tuple[Tensor, Tensor]:
    """Associative-embedding pull and push losses (Newell et al., HigherHRNet form, ``exp`` push).

    ``tags`` (N, K, H, W) one scalar tag per keypoint; ``joints`` (N, P, K, 2) int64 = flat index
    into an H*W tag map and a visible flag (padded persons have no visible joint). Per image: each
    person's reference tag is the mean of its visible joints' tags; pull = mean over persons of the
    mean squared deviation from the reference; push = sum over ordered pairs i != j of
    exp(-(m_i - m_j)^2) / (P (P - 1)) / 2. Both are averaged over the batch.
    """
    n, k = tags.shape[:2]
    flat = tags.reshape(n, k, -1)
    pulls, pushes = [], []
    for b in range(n):
        idx, vis = joints[b, ..., 0], joints[b, ..., 1] > 0  # (P, K)
        means = []
        pull = tags.new_zeros(())
        for p in range(idx.shape[0]):
            ks = torch.nonzero(vis[p], as_tuple=True)[0]
            if len(ks) == 0:
                continue
            t = flat[b, ks, idx[p, ks]]
            m = t.mean()
            means.append(m)
            pull = pull + ((t - m) ** 2).mean()
        num = len(means)
        if num == 0:
            pulls.append(tags.new_zeros(()))
            pushes.append(tags.new_zeros(()))
            continue
        pulls.append(pull / num)
        if num < 2:
            pushes.append(tags.new_zeros(()))
            continue
        m = torch.stack(means)
        diff = m[:, None] - m[None, :]
        push = torch.exp(-(diff**2)).sum() - num  # drop the i == j terms
        pushes.append(push / ((num - 1) * num) * 0.5)
    return torch.stack(pulls).mean(), torch.stack(pushes).mean()


def openpose_loss(
    outputs: Sequence[Tensor], heatmaps: Tensor, pafs: Tensor, mask: Tensor
) -> tuple[Tensor, dict[str, Tensor]]:
    """Multi-stage masked L2 (Lightweight OpenPose): ``outputs`` = [heatmaps_0, pafs_0, heatmaps_1,
    pafs_1, ...]; every stage is supervised against the same targets with the ignore ``mask``
    (N, H, W). Each term is sum((pred - target)^2 * mask) / 2 / N; the total is their sum."""
    if len(outputs) % 2:
        raise ValueError(f"OpenPose outputs must alternate heatmaps and PAFs, got {len(outputs)} tensors")
    n = heatmaps.shape[0]
    m = mask[:, None]
    parts: dict[str, Tensor] = {}
    total = heatmaps.new_zeros(())
    for s in range(len(outputs) // 2):
        hm = ((outputs[2 * s] - heatmaps) ** 2 * m).sum() / 2 / n
        pf = ((outputs[2 * s + 1] - pafs) ** 2 * m).sum() / 2 / n
        parts[f"heatmap_{s}"], parts[f"paf_{s}"] = hm.detach(), pf.detach()
        total = total + hm + pf
    return total, parts


class TopDownHeatmapLoss(nn.Module):
    """Top-down heatmap loss: MSE with per-keypoint target weights, or paper 004's weighted MSE.

    ``multiplier`` scales the mean (0.5 in the original HRNet code; default 1)."""

    def __init__(self, weighted: bool = False, tau: float = 0.01, multiplier: float = 1.0) -> None:
        super().__init__()
        self.weighted, self.tau, self.multiplier = weighted, tau, multiplier

    def forward(self, outputs: Tensor, targets: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.multiplier * heatmap_mse(
            outputs, targets["heatmaps"], targets.get("keypoint_weights"), weighted=self.weighted, tau=self.tau
        )
        return loss, {"heatmap": loss.detach()}


class AssociativeEmbeddingLoss(nn.Module):
    """LitePose / WLitePose loss: masked heatmap MSE at every output resolution (1/4, 1/2; paper 004
    supervises both) + pull/push on the 1/4 tags. The model returns (out_quarter, out_half) with
    ``out_quarter`` = K heatmaps then K tags; targets hold ``heatmaps_i``/``masks_i`` per resolution
    and ``joints``. The heatmap term is a per-pixel mean scaled by ``heatmap_factor``."""

    def __init__(
        self,
        num_keypoints: int,
        weighted: bool = False,
        tau: float = 0.01,
        heatmap_factor: float = 1.0,
        pull_factor: float = 1e-3,
        push_factor: float = 1e-3,
    ) -> None:
        super().__init__()
        self.k = num_keypoints
        self.weighted, self.tau = weighted, tau
        self.heatmap_factor, self.pull_factor, self.push_factor = heatmap_factor, pull_factor, push_factor

    def forward(self, outputs: Sequence[Tensor], targets: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
        parts: dict[str, Tensor] = {}
        total = outs[0].new_zeros(())
        for i, out in enumerate(outs):
            hm = out[:, : self.k]
            l_hm = self.heatmap_factor * heatmap_mse(
                hm, targets[f"heatmaps_{i}"], mask=targets[f"masks_{i}"], weighted=self.weighted, tau=self.tau
            )
            parts[f"heatmap_{i}"] = l_hm.detach()
            total = total + l_hm
        tags = outs[0][:, self.k : 2 * self.k]
        pull, push = ae_loss(tags, targets["joints"])
        parts["pull"], parts["push"] = pull.detach(), push.detach()
        total = total + self.pull_factor * pull + self.push_factor * push
        return total, parts


class OpenPoseLoss(nn.Module):
    """Wraps :func:`openpose_loss` for the trainer (targets ``heatmaps``, ``pafs``, ``mask``)."""

    def forward(self, outputs: Sequence[Tensor], targets: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        return openpose_loss(outputs, targets["heatmaps"], targets["pafs"], targets["mask"])
