"""Fixtures for the inference tests: one CPU thread (the machine is shared), real COCO annotations,
and the small registered models the tests use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import featherpose.models as zoo


@pytest.fixture(autouse=True)
def _single_thread(one_thread: None) -> None:
    """Every test here runs with single-threaded torch (the shared ``one_thread`` fixture)."""


def first_registered(*names: str) -> str:
    """The first of ``names`` in the zoo (models land in parallel; prefer the smallest)."""
    known = zoo.list_models()
    for name in names:
        if name in known:
            return name
    pytest.skip(f"none of {names} is registered yet")


@pytest.fixture
def top_down_model() -> str:
    return first_registered("mobileposenet", "mobilenetv2_deconv", "hrnet_w32")


@pytest.fixture
def ae_model() -> str:
    return first_registered("litepose_xs", "wlitepose_xs")


@pytest.fixture(scope="session")
def val_people() -> dict:
    """{image file name: (image path, [(keypoints (17, 3), bbox), ...])} for coco-mini val2017."""
    root = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "coco-mini"
    if not root.exists():
        pytest.skip(f"{root} is absent: the real data lives in ../shared beside the checkout")
    data = json.loads((root / "annotations" / "person_keypoints_val2017.json").read_text())
    files = {im["id"]: im["file_name"] for im in data["images"]}
    out: dict = {}
    for a in data["annotations"]:
        if a.get("iscrowd"):
            continue
        name = files[a["image_id"]]
        entry = out.setdefault(name, (root / "val2017" / name, []))
        entry[1].append((np.asarray(a["keypoints"], np.float32).reshape(-1, 3), np.asarray(a["bbox"], np.float64)))
    return out
