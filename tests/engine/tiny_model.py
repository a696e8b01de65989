"""A tiny top-down heatmap model registered in the zoo for the engine tests (fast on one CPU core)."""

from __future__ import annotations

from torch import Tensor, nn

from featherpose.models import ModelSpec, list_models, register

NAME = "tiny_test_net"


class TinyNet(nn.Module):
    """3 -> K heatmaps at stride 4, with dropout (exercises RNG reproducibility) and optional BN."""

    def __init__(self, num_keypoints: int = 17, width: int = 8, batch_norm: bool = True, dropout: float = 0.2) -> None:
        super().__init__()
        norm = (lambda c: nn.BatchNorm2d(c)) if batch_norm else (lambda c: nn.Identity())
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, 2, 1), norm(width), nn.ReLU(),
            nn.Dropout2d(dropout),
            nn.Conv2d(width, width, 3, 2, 1), norm(width), nn.ReLU(),
            nn.Conv2d(width, num_keypoints, 1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def register_tiny() -> str:
    """Register :class:`TinyNet` once per process; returns its zoo name."""
    if NAME not in list_models():
        register(ModelSpec(NAME, "test", "top-down", "coco17", (32, 24), TinyNet, paper="none"))
    return NAME


def tiny_config(tmp_dir: object = None, **overrides: object) -> dict:
    """A synthetic-data config dict for :class:`TinyNet` (3 steps per epoch with batch 4)."""
    cfg = {
        "model": {"name": NAME, "args": {}},
        "data": {"type": "synthetic", "synthetic_size": 12},
        "input_size": [32, 24],
        "codec": {"name": "heatmap", "args": {"sigma": 1.0}},
        "optimizer": {"type": "adam", "lr": 1e-2},
        "schedule": {"milestones": [1], "gamma": 0.5, "warmup_steps": 2},
        "epochs": 2,
        "batch_size": 4,
        "log_interval": 1,
        "eval": {"interval": 1},
    }
    for key, value in overrides.items():
        cfg[key] = value
    return cfg
