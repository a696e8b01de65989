"""Shared test fixtures: the real data in ../shared (skipped with a reason when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
COCO_MINI = SHARED / "data" / "coco-mini"
MPII_FIXTURES = SHARED / "data" / "mmpose-fixtures" / "mpii"
CROWDPOSE_FIXTURES = SHARED / "data" / "mmpose-fixtures" / "crowdpose"
PEERS = SHARED / "peers"

torch.set_num_threads(2)


@pytest.fixture
def one_thread():
    """Single-threaded torch for one test: two threads on a loaded 2-core machine spin instead of working."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: the real data lives in ../shared beside the checkout (CI has it)")
    return path


@pytest.fixture
def coco_mini() -> Path:
    """Root of the real COCO 2017 slice (annotations/, train2017/, val2017/)."""
    return _need(COCO_MINI)


@pytest.fixture
def mpii_fixtures() -> Path:
    """Five real MPII images and test_mpii.json."""
    return _need(MPII_FIXTURES)


@pytest.fixture
def crowdpose_fixtures() -> Path:
    """Two real CrowdPose images, test_crowdpose.json and a detection-results file."""
    return _need(CROWDPOSE_FIXTURES)


@pytest.fixture
def peers() -> Path:
    """Real trained peer models (OMZ OpenPose IR, MoveNet int8 TFLite)."""
    return _need(PEERS)
